// Lab 2: the TCP handshake and close, watched from the kernel. Every state printed is the
// kernel's answer for that socket at that moment (TCP_INFO), or its connection table
// (/proc/net/tcp) once no socket is left to ask. A state that passes too fast to see is
// held open on purpose, or reported as missed: never printed because a textbook says so.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "handshake",
    usage: """
        handshake: every TCP state of a connection's life, on both ends, read from the kernel.

        usage:
          handshake                      run the demo on loopback (what `make lab-2` does)
          handshake --dial ADDR [--abort]
                                         connect to ADDR, print `connected from LOCAL to ADDR`, then close:
                                         with a FIN, or with --abort a RST (SO_LINGER 0), and exit 0
          handshake --help               this text
        """)

lab.run { arguments in
    let target = try arguments.address("--dial")
    let abort = arguments.flag("--abort")
    try arguments.finish()
    if let target { return try dialAndClose(target, abort: abort) }
    if abort { throw UsageError("--abort goes with --dial") }
    say("Each row: the client's and the server's TCP state as the kernel reports it at that moment")
    say("(getsockopt TCP_INFO), then what just happened. \"-\": no socket left to ask.")
    let (client, server) = try handshake()
    try synSentHeldOpen()
    try orderlyClose(client, server)
    try abortiveClose()
    try serverClosesFirst()
}

func part(_ title: String, _ intro: String...) {
    say("")
    say(title)
    intro.forEach(say)
    say(column("client") + column("server") + "what just happened")
}

// ANCHOR: handshake
/// LISTEN; the whole handshake inside one blocking connect(); ESTABLISHED on both ends.
func handshake() throws -> (client: Connection, server: Connection) {
    part("1. The three-way handshake: SYN, SYN-ACK, ACK")
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    row(nil, listener.socket, "server: listen() on \(listener.address)")

    let client = try dial("tcp", listener.address.description)  // socket(), then a blocking connect()
    row(
        client.socket, listener.socket,
        """
        client: connect() from \(client.localAddress?.description ?? "?") returned: SYN, SYN-ACK, ACK are done
        (SYN_SENT came and went inside connect(): too fast to ask; part 2 holds it open)
        \(bytesAcked(client)) = 0 data bytes + 1 SYN: the SYN-ACK said ack = x+1
        """)
    let deadline = Deadline.after(.seconds(5))  // the handshake's last ACK may still be crossing loopback
    while try listener.socket.acceptQueue().waiting == 0, !deadline.hasPassed { pause(.milliseconds(1)) }
    row(
        client.socket, listener.socket,
        """
        server: the kernel did the handshake on its own: \(try listener.socket.acceptQueue().waiting) \
        connection waits to be accepted
        """)
    let server = try listener.accept()
    row(
        client.socket, server.socket,
        """
        server: accept() returns it as a socket of its own; the listener stays LISTEN
        \(bytesAcked(server, of: "server")): the kernel made this socket when the client's ACK said ack = y+1,
        and counts from there
        """)
    return (client, server)
}
// ANCHOR_END: handshake

// ANCHOR: syn-sent
/// A listener whose accept queue is full drops SYNs, so a client's SYN_SENT lasts until
/// its SYN, sent again, finds room.
func synSentHeldOpen() throws {
    part("2. SYN_SENT, held open: a listener whose accept queue is full")
    let listener = try Listener("tcp", "127.0.0.1:0", backlog: 1)
    defer { listener.close() }
    row(nil, listener.socket, "server: listen(backlog: 1) on \(listener.address), and no accept() yet")
    let others = try (1...2).map { _ in try dial("tcp", listener.address.description) }
    defer { others.forEach { $0.close() } }
    let deadline = Deadline.after(.seconds(5))
    while try listener.socket.acceptQueue().waiting < 2, !deadline.hasPassed { pause(.milliseconds(1)) }
    row(
        nil, listener.socket,
        """
        two other clients connect: \(try listener.socket.acceptQueue().waiting) connections wait \
        in the accept queue (backlog + 1)
        """)

    let client = try Socket(family: listener.address.family, type: .stream, nonblocking: true)
    defer { client.close() }
    let start = ContinuousClock.now
    let connected = try client.connect(listener.address)  // false: EINPROGRESS, the SYN is on its way
    row(
        client, listener.socket,
        """
        client: nonblocking connect(): \(connected ? "connected at once" : "EINPROGRESS"). \
        The queue is full: Linux drops the SYN
        """)
    pause(.milliseconds(500))
    row(client, listener.socket, "500ms later: no SYN-ACK, and no RST either: a full queue is silence, not a refusal")

    let first = try listener.accept()
    defer { first.close() }
    settle(client, to: .established, within: .seconds(10))
    row(
        client, listener.socket,
        """
        server: accept() makes room; the client's SYN, sent again, gets its SYN-ACK:
        \(try client.tcpState()) \(shown(ContinuousClock.now - start)) after connect()
        """)
}
// ANCHOR_END: syn-sent

// ANCHOR: orderly-close
/// FIN, ACK, FIN, ACK. Each FIN is held back behind bytes the other end has not read, so
/// FIN_WAIT_1 and LAST_ACK last until that end reads, not just a loopback round trip.
func orderlyClose(_ client: Connection, _ server: Connection) throws {
    let (clientSaw, serverSaw) = try plainCloses(20)
    part(
        "3. Orderly close: FIN, ACK, FIN, ACK (the connection from part 1)",
        "How long do FIN_WAIT_1 and LAST_ACK last on their own? 20 plain closes, each end asked at once:",
        "  client, after sending its FIN: \(clientSaw)",
        "  server, after sending its FIN: \(serverSaw)",
        "Below, each FIN waits behind bytes the other end has not read yet, so every state holds still until we ask.")

    let sent = try writeUntilFull(client, peer: server)
    row(client.socket, server.socket, "client: writes \(sent) bytes; the server reads none of them yet")
    try client.closeWrite()  // shutdown(SHUT_WR), Go's CloseWrite: send FIN, keep the socket
    pause(.milliseconds(200))
    row(
        client.socket, server.socket,
        "client: shutdown(SHUT_WR) 200ms ago; its FIN waits behind the server's unread bytes")
    let received = try readToEOF(server)
    settle(client.socket, to: .finWait2)
    row(
        client.socket, server.socket,
        """
        server: reads \(received) bytes, then EOF (the FIN), and ACKs the FIN
        \(bytesAcked(client)) = \(sent) data bytes + 1 SYN + 1 FIN
        """)

    let replied = try writeUntilFull(server, peer: client)  // the client only closed its sending side
    row(client.socket, server.socket, "server: half closed is not closed: it writes \(replied) bytes back")
    try server.closeWrite()
    pause(.milliseconds(200))
    row(
        client.socket, server.socket,
        """
        server: shutdown(SHUT_WR) 200ms ago; its FIN waits behind the client's unread bytes
        """)
    let back = try readToEOF(client)
    settle(server.socket, to: .close)
    row(
        client.socket, server.socket,
        """
        client: reads \(back) bytes, then EOF (the FIN), and ACKs it. Both sockets say CLOSE;
        the client closed first, so its end waits in TIME_WAIT, in the kernel's table only:
        """)
    say(try kernelTable("client", client, awaiting: .timeWait))
    say(try kernelTable("server", server))
    client.close()
    server.close()
}
// ANCHOR_END: orderly-close

// ANCHOR: plain-closes
/// Plain closes, nothing held back: which state does each end report right after the
/// shutdown() that sent its FIN? Counts each answer, for each end.
func plainCloses(_ count: Int) throws -> (client: String, server: String) {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    var client: [String: Int] = [:], server: [String: Int] = [:]
    for _ in 0..<count {
        let (a, b) = (try dial("tcp", listener.address.description), try listener.accept())
        defer { a.close(); b.close() }
        try a.closeWrite()
        client[state(a.socket), default: 0] += 1
        _ = try readToEOF(b)
        try b.closeWrite()
        server[state(b.socket), default: 0] += 1
    }
    func tally(_ seen: [String: Int]) -> String {
        seen.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value) times" }
            .joined(separator: ", ")
    }
    return (tally(client), tally(server))
}
// ANCHOR_END: plain-closes

// ANCHOR: abort
/// SO_LINGER with a zero timeout makes close() send RST: no FIN, no TIME_WAIT, and the
/// peer's next read fails with ECONNRESET.
func abortiveClose() throws {
    part("4. Abortive close: SO_LINGER 0, then close(), sends RST")
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    let client = try dial("tcp", listener.address.description)
    let server = try listener.accept()
    defer { server.close() }
    row(client.socket, server.socket, "a new connection, from \(client.localAddress?.description ?? "?")")

    // Go: conn.(*net.TCPConn).SetLinger(0)
    try client.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
    client.close()
    settle(server.socket, to: .close)
    row(nil, server.socket, "client: SO_LINGER {on, 0s}, then close(): it sends RST, not FIN")
    do {
        let bytes = try server.read(maxLength: 1)
        row(nil, server.socket, "server: read() returned \(bytes.count) bytes")
    } catch {
        row(nil, server.socket, "server: \(error)")
    }
    say(try kernelTable("client", client))
}
// ANCHOR_END: abort

// ANCHOR: server-first
/// Whoever closes first gets TIME_WAIT. When that is the server, TIME_WAIT holds the
/// server's own port, and a restarted server needs SO_REUSEADDR to bind it again.
func serverClosesFirst() throws {
    part("5. The server closes first: TIME_WAIT on the server's port, and SO_REUSEADDR")
    let listener = try Listener("tcp", "127.0.0.1:0")
    let address = listener.address
    row(nil, listener.socket, "server: listen() on \(address), with SO_REUSEADDR (as Go's net.Listen does)")
    let client = try dial("tcp", address.description)
    let server = try listener.accept()
    row(client.socket, server.socket, "client: connect(); server: accept()")

    server.close()
    settle(client.socket, to: .closeWait)
    row(client.socket, nil, "server: close() first this time: FIN. Its socket is gone, its end is not:")
    say(try kernelTable("server", server, awaiting: .finWait2))
    let eof = try client.read(maxLength: 1).isEmpty
    client.close()
    listener.close()
    row(
        nil, nil,
        "client: read() \(eof ? "returns 0 (EOF)" : "returns data"), then close(): its FIN. The server stops listening")
    say(try kernelTable("server", server, awaiting: .timeWait))

    let plain = try Socket(family: address.family, type: .stream)
    defer { plain.close() }
    do {
        try plain.bind(address)
        row(nil, nil, "restart without SO_REUSEADDR: bind() succeeds")
    } catch {
        let failure = NetError(op: "listen", network: "tcp", remote: address.description, error)
        row(nil, nil, "restart without SO_REUSEADDR: \(failure)")
    }
    let restarted = try Listener("tcp", address.description)
    defer { restarted.close() }
    row(nil, restarted.socket, "restart with SO_REUSEADDR: listen() on \(address) works at once")
    say(try kernelTable("server", server))
}
// ANCHOR_END: server-first
