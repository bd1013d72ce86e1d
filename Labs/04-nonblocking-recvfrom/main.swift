// Lab 4: nonblocking recvfrom. On a socket opened with SOCK_NONBLOCK, recvfrom never
// waits: with nothing queued it fails at once with EAGAIN. To wait without burning the
// CPU in a loop, sleep in poll() until the socket is readable, then call recvfrom again.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "nonblocking-recvfrom",
    usage: """
        nonblocking-recvfrom: recvfrom on a nonblocking UDP socket returns EAGAIN at once; poll() waits.

        usage:
          nonblocking-recvfrom                 run the demo on loopback (what `make lab-4` does)
          nonblocking-recvfrom --listen ADDR [--count N] [--timeout D]
                                               bind ADDR (host:port, port 0: the kernel picks), print
                                               `listening on HOST:PORT`, then each datagram as
                                               `FROM: PAYLOAD`, one line each; stop after N datagrams,
                                               or fail with `i/o timeout` after D without one
          nonblocking-recvfrom --help          this text
        """)

lab.run { arguments in
    let address = try arguments.address("--listen")
    let count = try arguments.count("--count")
    let timeout = try arguments.duration("--timeout")
    try arguments.finish()
    guard let address else {
        if count != nil || timeout != nil { throw UsageError("--count and --timeout go with --listen") }
        return try demo()
    }
    let conn = try PacketConn("udp", address, nonblocking: true)
    say("listening on \(conn.localAddress)")
    var received = 0
    while count.map({ received < $0 }) ?? true {
        let (bytes, sender) = try receive(on: conn, until: timeout.map { .after($0) }, narrate: false)
        say(line(bytes, from: sender))
        received += 1
    }
}

// ANCHOR: receive
/// One datagram from a nonblocking socket: try `recvfrom`; on EAGAIN, sleep in `poll`
/// until the socket is readable (or the deadline passes), then try again.
func receive(on conn: PacketConn, until deadline: Deadline?, narrate: Bool) throws -> ([UInt8], Address?) {
    while true {
        switch try conn.socket.receiveFrom() {
        case .done(let datagram):
            return datagram
        case .wouldBlock:
            // BEGIN SOLUTION: EAGAIN means nothing is queued yet: sleep in poll() until readable, or fail with i/o timeout at the deadline § Waiting with poll()
            let start = ContinuousClock.now
            guard try conn.socket.wait(for: .readable, until: deadline) else {
                throw NetError(op: "read", network: "udp", remote: conn.localAddress.description, reason: .timeout)
            }
            if narrate {
                say(
                    "recvfrom(): EAGAIN; poll(POLLIN) slept \(shown(ContinuousClock.now - start)) until a datagram was queued"
                )
            }
        // END SOLUTION
        }
    }
}
// ANCHOR_END: receive

/// `FROM: PAYLOAD` on one line: one trailing newline dropped, and whatever a terminal would
/// act on (control bytes, bidi overrides, bytes that are not UTF-8) escaped as Go's `%q` does.
func line(_ bytes: [UInt8], from sender: Address?) -> String {
    var payload = bytes
    if payload.last == 0x0A { payload.removeLast() }
    if payload.last == 0x0D { payload.removeLast() }
    return "\(sender.map(\.description) ?? "?"): \(escaped(payload))"
}

// ANCHOR: demo
func demo() throws {
    let conn = try PacketConn("udp", "127.0.0.1:0", nonblocking: true)
    say("socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK), bound to \(conn.localAddress)")

    // Nothing has been sent yet: recvfrom fails at once instead of waiting.
    let start = ContinuousClock.now
    let first = try conn.socket.receiveFrom()
    let took = ContinuousClock.now - start
    if case .wouldBlock = first {
        say(
            "recvfrom() with nothing queued: EAGAIN (\(SystemError.message(for: EAGAIN))) after \(took.rounded(to: .microseconds(1)).goDescription): it did not wait"
        )
    }

    let gap = Duration.milliseconds(200)
    say("a sender will send \"one\", \"two\", \"three\", \(shown(gap)) apart")
    let sender = BackgroundThread("sender") {
        guard let client = try? PacketConn("udp", "127.0.0.1:0") else { return }
        for word in ["one", "two", "three"] {
            Thread.sleep(forTimeInterval: Double(gap.nanoseconds) / 1e9)
            try? client.writeTo(Array(word.utf8), conn.localAddress)
        }
        client.close()
    }
    for _ in 0..<3 {
        let (bytes, from) = try receive(on: conn, until: .after(.seconds(10)), narrate: true)
        say(line(bytes, from: from))
    }
    sender.join()
    conn.close()
    say("=> the thread slept in poll() between datagrams instead of calling recvfrom() in a busy loop")

    // The source's socket: made, never bound. No port, so no datagram can ever reach it.
    let unbound = try Socket(family: conn.localAddress.family, type: .datagram, nonblocking: true)
    defer { unbound.close() }
    let name = try unbound.localAddress().map(\.description) ?? "none"
    let waiting: String
    if case .wouldBlock = try unbound.receiveFrom() { waiting = "EAGAIN" } else { waiting = "a datagram" }
    say("the source's socket, never bound: getsockname() says \(name), and recvfrom() gives \(waiting):")
    say("   with no port, no sender can reach it, so it would say EAGAIN forever")
}
// ANCHOR_END: demo
