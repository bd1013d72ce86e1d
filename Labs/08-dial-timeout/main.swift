// Lab 8: connecting with a time limit, Go's net.DialTimeout, and read deadlines. The demo
// makes connect() really hang on loopback: when a listener's accept queue is full, Linux
// drops new SYNs, so the handshake never completes and only the timeout ends the wait.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "dial-timeout",
    usage: """
        dial-timeout: connect() bounded by a timeout (nonblocking connect, poll, SO_ERROR), and read deadlines.

        usage:
          dial-timeout                     run the demo on loopback (what `make lab-8` does)
          dial-timeout --dial ADDR --timeout D [--read-timeout D]
                                           connect to ADDR (host:port) within D, then copy what the server
                                           sends to stdout until EOF; with --read-timeout, fail when the
                                           server sends nothing for that long
          dial-timeout --full-queue ADDR   listen on ADDR and fill the accept queue, never accept: print
                                           `listening on HOST:PORT`, then every connect to it hangs
          dial-timeout --help              this text

        Durations are Go's: 300ms, 5s, 1m30s. As in Go, 0 means no limit at all and a negative
        duration has already run out (the dial or read fails at once with `i/o timeout`).
        """)

lab.run { arguments in
    let target = try arguments.address("--dial")
    let timeout = try arguments.duration("--timeout")
    let readTimeout = try arguments.duration("--read-timeout")
    let fullQueue = try arguments.address("--full-queue")
    try arguments.finish()
    if target == nil && (timeout != nil || readTimeout != nil) {
        throw UsageError("--timeout and --read-timeout go with --dial")
    }
    switch (target, fullQueue) {
    case (let target?, nil):
        guard let timeout else { throw UsageError("--dial needs --timeout (0 for none)") }
        try copyToStdout(from: target, timeout: timeout, readTimeout: readTimeout)
    case (nil, let address?):
        let full = try FullListener(address)
        say("listening on \(full.address)")
        say("connections waiting in the full accept queue, never to be accepted: \(full.queued); new SYNs are dropped")
        while true { Poll.sleep(.seconds(3600)) }  // until SIGINT or SIGTERM
    case (nil, nil):
        try demo()
    case (.some, .some):
        throw UsageError("--dial and --full-queue are two different roles: pick one")
    }
}

// ANCHOR: copy
/// `--dial ADDR --timeout D`: Go's `net.DialTimeout("tcp", ADDR, D)`, then every byte the
/// server sends, to stdout, until EOF. The timeout bounds connecting only; `--read-timeout`
/// bounds each read, with a deadline set before every read (Go: `SetReadDeadline`).
func copyToStdout(from address: String, timeout: Duration, readTimeout: Duration?) throws {
    let connection = try dialTimeout(address, timeout)
    defer { connection.close() }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        if let readTimeout, readTimeout != .zero { connection.setReadDeadline(.after(readTimeout)) }
        let count = try connection.read(into: &buffer)
        if count == 0 { return }  // EOF: the server closed. The normal end, not an error.
        writeRaw(Array(buffer[..<count]))
    }
}
// ANCHOR_END: copy

// ANCHOR: dial
/// The lab's own `net.DialTimeout("tcp", ADDR, D)`, for the `--dial` role and the demo. The
/// timeout becomes one deadline at the start (zero: none; negative: already past), and each
/// address the name resolves to gets a connect bounded by it, in turn, until one connects;
/// the first failure is the one reported. (The module's `Dialer` also shares out the
/// time between the addresses, as Go does.)
func dialTimeout(_ hostPort: String, _ timeout: Duration) throws(NetError) -> Connection {
    let deadline = timeout == .zero ? nil : Deadline.after(timeout)
    let addresses = try Network("tcp", op: "dial").addresses(hostPort, op: "dial", listening: false)
    var firstError: NetError?
    for address in addresses {
        if let deadline, deadline.hasPassed { break }
        let socket: Socket?
        do { socket = try connect(to: address, until: deadline) } catch {
            firstError = firstError ?? NetError(op: "dial", network: "tcp", remote: address.description, error)
            continue
        }
        guard let socket else {
            firstError =
                firstError ?? NetError(op: "dial", network: "tcp", remote: address.description, reason: .timeout)
            continue
        }
        return Connection(socket: socket, network: "tcp")
    }
    throw firstError ?? NetError(op: "dial", network: "tcp", remote: addresses[0].description, reason: .timeout)
}
// ANCHOR_END: dial

// ANCHOR: connect
/// One connect that gives up at `deadline` (nil: never): the four system calls of this
/// chapter. Returns nil when the deadline passed first; the socket, dropped here, closes
/// itself and the kernel abandons the handshake.
func connect(to address: Address, until deadline: Deadline?) throws(SystemError) -> Socket? {
    // BEGIN SOLUTION: connect without blocking: a nonblocking socket, connect() (EINPROGRESS), poll(POLLOUT) until the deadline (nil when it passes first), then SO_ERROR for how it ended § Underneath: the system calls
    let socket = try Socket(family: address.family, type: .stream, nonblocking: true)
    if try !socket.connect(address) {
        // The handshake is under way. Writable means it finished, one way or the other.
        guard try socket.wait(for: .writable, until: deadline) else { return nil }
        let code = try socket.pendingError()
        if code != 0 { throw SystemError(call: "connect", code: code) }
    }
    try socket.setNonblocking(false)  // a plain blocking socket from here on, for the reads
    return socket
    // END SOLUTION
}
// ANCHOR_END: connect

// ANCHOR: full-queue
/// A listener that never calls accept(), its accept queue filled. Linux queues up to
/// backlog + 1 finished handshakes (backlog 0: one); we connect until a connect does not
/// finish, and keep those connections open. From then on the kernel drops every SYN sent to
/// this port, so whoever connects hears nothing back and waits, resending its SYN at
/// growing intervals (tcp_syn_retries times): a connect() that hangs, on loopback.
struct FullListener {
    let listener: Listener
    let connections: [Connection]

    var address: Address { listener.address }
    var queued: Int { connections.count }

    init(_ address: String) throws {
        listener = try Listener("tcp", address, backlog: 0)
        connections = try FullListener.fill(listener)
    }

    private static func fill(_ listener: Listener) throws -> [Connection] {
        var connections: [Connection] = []
        for _ in 0..<8 {
            do {
                connections.append(try dial("tcp", listener.address.description, timeout: .milliseconds(250)))
            } catch {
                guard error.isTimeout else { throw error }
                return connections  // this SYN was dropped: the queue is full
            }
        }
        throw NetError(
            op: "listen", network: "tcp", remote: listener.address.description,
            reason: .other("the accept queue did not fill up"))
    }
}
// ANCHOR_END: full-queue

/// The kernel's count of SYNs dropped because an accept queue was full
/// (`TcpExt: ListenOverflows` in /proc/net/netstat, Linux only).
func listenOverflows() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8) else { return nil }
    let rows = text.split(separator: "\n").filter { $0.hasPrefix("TcpExt:") }.map { $0.split(separator: " ") }
    guard rows.count == 2, let column = rows[0].firstIndex(of: "ListenOverflows"), column < rows[1].count else {
        return nil
    }
    return Int(rows[1][column])
}

/// Linux's setting for how long to resend an unanswered SYN before connect() fails with
/// ETIMEDOUT (with the default, 6, a little over two minutes).
func synRetries() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_syn_retries", encoding: .utf8) else {
        return nil
    }
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// How long `body` took, and what it returned or threw.
func timed<T>(_ body: () throws -> T) -> (Result<T, Error>, Duration) {
    let start = ContinuousClock.now
    let result = Result { try body() }
    return (result, ContinuousClock.now - start)
}

func demo() throws {
    try timeoutOnAFullQueue()
    say("")
    try refusedAtOnce()
    say("")
    try dialAndRead()
    say("")
    try readDeadlineOnASilentPeer()
}

// ANCHOR: demo-timeout
func timeoutOnAFullQueue() throws {
    let full = try FullListener("127.0.0.1:0")
    say(
        "a listener on \(full.address), backlog 0, that never calls accept(); connections waiting in its full queue: \(full.queued)"
    )
    let overflowsBefore = listenOverflows()
    let timeout = Duration.milliseconds(300)
    say("dial tcp \(full.address) with a \(shown(timeout)) timeout: connect() says EINPROGRESS, poll(POLLOUT) waits...")
    let (result, took) = timed { try dialTimeout(full.address.description, timeout) }
    switch result {
    case .success: say("  connected?! (the queue was not full after all)")
    case .failure(let error): say("  \(error), after \(shown(took))")
    }
    if let before = overflowsBefore, let after = listenOverflows() {
        say(
            "  SYNs the kernel dropped meanwhile because an accept queue was full (TcpExt ListenOverflows): \(after - before)"
        )
    }
    say("=> the timeout ended the wait at about the time asked")
    if let retries = synRetries() {
        say("   without one, connect() waits while the kernel resends the SYN, at growing intervals,")
        say("   until the budget set by net.ipv4.tcp_syn_retries (here \(retries)) runs out")
    }
}
// ANCHOR_END: demo-timeout

// ANCHOR: demo-refused
func refusedAtOnce() throws {
    let address = try Listener("tcp", "127.0.0.1:0").address  // a port nothing listens on once closed
    say("dial tcp \(address) (nothing listens there) with a 300ms timeout:")
    let (result, took) = timed { try dialTimeout(address.description, .milliseconds(300)) }
    switch result {
    case .success: say("  connected?! (another program took the port in the meantime)")
    case .failure(let error): say("  \(error), after \(shown(took))")
    }
    say("=> no waiting: the kernel answered our SYN with a RST at once; a timeout only bounds silence")
}
// ANCHOR_END: demo-refused

// ANCHOR: demo-read
func dialAndRead() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    let server = BackgroundThread("server") {
        guard let connection = try? listener.accept() else { return }
        try? connection.write("Hello World!\r\n")
        connection.closeGracefully()  // FIN, then waits for ours (chapter 10)
    }
    say("a server on \(listener.address) that writes \"Hello World!\\r\\n\" and closes")
    let (result, took) = timed { try dialTimeout(listener.address.description, .milliseconds(300)) }
    let connection = try result.get()
    say("dial tcp \(listener.address) with a 300ms timeout: connected in \(shown(took))")
    while case let bytes = try connection.read(maxLength: 1024), !bytes.isEmpty {
        say("  read \(bytes.count) bytes: \(quoted(bytes))")
    }
    say("  read 0 bytes: EOF, the server closed; that is the end of the stream, not an error")
    connection.close()
    server.join()
}
// ANCHOR_END: demo-read

// ANCHOR: demo-deadline
func readDeadlineOnASilentPeer() throws {
    // The kernel completes the handshake for a listener by itself: connect() succeeds even
    // though nobody ever calls accept(), and nobody will ever write.
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    let connection = try dialTimeout(listener.address.description, .milliseconds(300))
    defer { connection.close() }
    say("connected to \(listener.address), a listener that never accepts and so never writes")
    let limit = Duration.milliseconds(300)
    connection.setReadDeadline(.after(limit))
    say("read with a deadline \(shown(limit)) from now:")
    let (result, took) = timed { try connection.read(maxLength: 1024) }
    switch result {
    case .success(let bytes): say("  read \(bytes.count) bytes?! (someone else answered)")
    case .failure(let error): say("  \(error), after \(shown(took))")
    }
    say("=> the dial's timeout covers connecting only; without a read deadline this read would wait forever")
}
// ANCHOR_END: demo-deadline
