// The event-loop server: one `Server` per event loop, and every method of it runs on that
// loop's one thread, called back when a descriptor is ready or a timer is due. No call
// here may block. The first loop's server accepts for all of them and hands each new
// connection to the loops in turn; a connection stays on its loop until it closes.
import EventLoop
import LabKit
import Sockets
import Synchronization

/// What the server sends every client: the source's greeting, in one write this time.
nonisolated var greeting: [UInt8] { Array("Hello World!\r\n".utf8) }

/// What the loops' servers share, so any thread may read it (the demo watches it from its
/// own): connections accepted and not yet finished, connections done, and whether the
/// acceptor has taken its last (--count).
final class ServerCounts: Sendable {
    let open = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let acceptedAll = Atomic<Bool>(false)
}

/// One client's state: the bytes it is owed, and what it is waiting for.
final class Client {
    let socket: Socket
    let descriptor: Int32
    var output: [UInt8] = []
    var sent = 0  // how much of `output` the kernel has taken
    var interest: Interest = .readable
    var peerClosed = false
    var halfClosed = false  // we sent FIN (after the greeting, without --echo)
    var deadline: TimerID?

    init(_ socket: Socket) {
        self.socket = socket
        descriptor = socket.descriptor
    }

    var owed: Int { output.count - sent }
}

/// The loop keeps the server alive: each handler and timer it holds refers to the server,
/// and once the last one is gone (every client done, the listener closed), so is the server.
/// Only its own loop's thread touches it (other loops reach it through `loop.execute`):
/// the compiler cannot check that, hence `@unchecked`.
final class Server: @unchecked Sendable {
    /// A client that does not read what it is owed for this long is dropped; so is one that
    /// keeps its end open this long after the greeting (without --echo). Ten thousand idle
    /// clients holding echo connections are fine: only a stalled write has a deadline.
    static let writeTimeout = Duration.seconds(10)
    static let lingerTimeout = Duration.seconds(5)
    /// Past this many unsent bytes we stop reading from a client (it must read its echo
    /// first), so a client that only sends cannot make us buffer without bound.
    static let maxOwed = 256 * 1024

    let listener: Listener
    let loop: EventLoop
    let echo: Bool
    let limit: Int?
    let counts: ServerCounts
    /// Every loop of the server, this one included: stopped together after --count.
    let loops: [EventLoop]
    /// The servers of all the loops, for the acceptor to hand connections to in turn
    /// (empty: this loop serves every connection itself).
    var peers: [Server] = []
    private var clients: [Int32: Client] = [:]
    private var accepted = 0
    private var pause = Duration.zero
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(
        _ listener: Listener, loop: EventLoop, echo: Bool, limit: Int?, counts: ServerCounts = ServerCounts(),
        loops: [EventLoop]? = nil
    ) {
        self.listener = listener
        self.loop = loop
        self.loops = loops ?? [loop]
        self.echo = echo
        self.limit = limit
        self.counts = counts
    }

    // ANCHOR: start
    /// Watches the listener, level-triggered: while connections wait in the accept queue,
    /// every `epoll_wait` reports it readable.
    func start() throws(SystemError) {
        try listener.socket.setNonblocking(true)
        try loop.watch(listener.socket.descriptor, for: .readable) { [self] _ in acceptAll() }
    }
    // ANCHOR_END: start

    // ANCHOR: accept
    /// Accepts until the queue is empty (`EAGAIN`), each socket nonblocking from the start. Out of descriptors, the listener would
    /// stay readable and wake us at once, again and again: we stop watching it and watch it
    /// again after a pause, 5 ms doubling up to 1 s, as `Listener.accept(reporting:)` does.
    private func acceptAll() {
        while limit.map({ accepted < $0 }) ?? true {
            let result: IOResult<Socket>
            do { result = try listener.socket.acceptNonblocking() } catch {
                let failure = NetError(op: "accept", network: "tcp", remote: listener.address.description, error)
                if AcceptErrors.belongToOneConnection(error.code) {
                    warn("\(failure)")
                    continue
                }
                pause = pause == .zero ? .milliseconds(5) : min(pause * 2, .seconds(1))
                warn("\(failure); retrying in \(shown(pause))")
                loop.unwatch(listener.socket.descriptor)
                loop.schedule(at: .after(pause)) { [self] in try? start() }
                return
            }
            guard case .done(let socket) = result else { return }
            pause = .zero
            accepted += 1
            counts.open.add(1, ordering: .sequentiallyConsistent)
            hand(socket)
        }
        // --count reached: accept no more, and stop once the last client is done.
        loop.unwatch(listener.socket.descriptor)
        listener.close()
        counts.acceptedAll.store(true, ordering: .sequentiallyConsistent)
        stopIfFinished()
    }
    // ANCHOR_END: accept

    // ANCHOR: hand
    /// Gives the connection to the next loop in turn (round robin), the first to the first
    /// loop, this one. Another loop's server is touched on its own thread only: the socket
    /// travels in a job for its loop.
    private func hand(_ socket: Socket) {
        guard !peers.isEmpty else { return add(socket) }
        let server = peers[(accepted - 1) % peers.count]
        if server === self { return add(socket) }
        server.loop.execute { server.add(socket) }
    }
    // ANCHOR_END: hand

    private func add(_ socket: Socket) {
        let client = Client(socket)
        do {
            try loop.watch(client.descriptor, for: .readable) { [self] event in ready(client, event) }
        } catch {
            warn("\(error)")
            socket.close()
            counts.open.subtract(1, ordering: .sequentiallyConsistent)
            return stopIfFinished()
        }
        clients[client.descriptor] = client
        client.output = greeting
        flush(client)
    }

    // ANCHOR: ready
    /// The loop says this client's socket is ready. Readable: take what has arrived (echo
    /// it, or without --echo discard it while we wait for the client's FIN). Writable: the
    /// send buffer has room again, so finish what we owe.
    private func ready(_ client: Client, _ event: ReadyEvent) {
        if event.readable || event.hangUpOrError { receive(client) }
        if clients[client.descriptor] != nil, event.writable || event.hangUpOrError { flush(client) }
    }

    private func receive(_ client: Client) {
        // BEGIN SOLUTION: one nonblocking read into `buffer`: EAGAIN means nothing more for now; 0 is the client's FIN (set peerClosed, then flush to finish); with --echo append what came to client.output, then flush § A loop that never blocks
        let result: IOResult<Int>
        do {
            result = try buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(SystemError) in try client.socket.read(into: bytes) }
            }.get()
        } catch {
            return drop(client, failure(client, "read", .system(error)))
        }
        guard case .done(let count) = result else { return }  // EAGAIN: nothing after all
        if count == 0 {
            client.peerClosed = true
        } else if echo {
            client.output += buffer[..<count]
        }
        flush(client)
        // END SOLUTION
    }
    // ANCHOR_END: ready

    // ANCHOR: flush
    /// Sends what the client is owed until the kernel takes no more. A partial write is
    /// normal on a nonblocking socket: we keep the rest, ask for EPOLLOUT, and come back when
    /// the socket is writable, with a deadline in case the client never reads.
    private func flush(_ client: Client) {
        // BEGIN SOLUTION: send client.output from client.sent until all is sent or EAGAIN; then watch for .writable only while bytes are owed (and .readable while fewer than maxOwed), set or cancel the write deadline, and finish the client once the peer closed and nothing is owed (without --echo: close our side after the greeting) § Partial writes and EPOLLOUT
        while client.owed > 0 {
            let result: IOResult<Int>
            do {
                result = try client.output.withUnsafeBytes { all in
                    Result { () throws(SystemError) in
                        try client.socket.send(UnsafeRawBufferPointer(rebasing: all[client.sent...]))
                    }
                }.get()
            } catch {
                return drop(client, failure(client, "write", .system(error)))
            }
            guard case .done(let count) = result else { break }  // EAGAIN: the send buffer is full
            client.sent += count
        }
        if client.owed == 0 {
            client.output.removeAll(keepingCapacity: true)
            client.sent = 0
        }
        if client.peerClosed && client.owed == 0 { return finish(client) }
        if !echo && client.owed == 0 && !client.halfClosed { closeWrite(client) }
        var wanted: Interest = client.owed > 0 ? .writable : []
        if client.owed < Self.maxOwed && !client.peerClosed { wanted.insert(.readable) }
        watch(client, for: wanted)
        // END SOLUTION
    }
    // ANCHOR_END: flush

    /// Without --echo, after the greeting: send FIN, then wait (reading and discarding) for
    /// the client's FIN before closing, so a client that sent something gets no RST.
    private func closeWrite(_ client: Client) {
        client.halfClosed = true
        try? client.socket.shutdown(.write)
        setDeadline(client, after: Self.lingerTimeout)
    }

    // ANCHOR: interest
    /// Level-triggered epoll reports a writable socket in every wait: we ask for EPOLLOUT
    /// only while bytes are owed, and a write deadline runs only then too.
    private func watch(_ client: Client, for interest: Interest) {
        if interest != client.interest {
            do { try loop.change(client.descriptor, to: interest) } catch {
                return drop(client, failure(client, "epoll_ctl", .system(error)))
            }
            client.interest = interest
        }
        if interest.contains(.writable) {
            if client.deadline == nil { setDeadline(client, after: Self.writeTimeout) }
        } else if !client.halfClosed, let timer = client.deadline {
            loop.cancel(timer)
            client.deadline = nil
        }
    }
    // ANCHOR_END: interest

    private func setDeadline(_ client: Client, after duration: Duration) {
        if let timer = client.deadline { loop.cancel(timer) }
        client.deadline = loop.schedule(at: .after(duration)) { [self] in
            client.deadline = nil
            guard clients[client.descriptor] === client else { return }
            drop(client, failure(client, client.halfClosed ? "read" : "write", .timeout))
        }
    }

    /// A failure in Go's form, `write tcp LOCAL->REMOTE: …` (the names looked up only now).
    private func failure(_ client: Client, _ op: String, _ reason: NetError.Reason) -> NetError {
        let local = try? client.socket.localAddress(), remote = try? client.socket.remoteAddress()
        return NetError(
            op: op, network: "tcp", local: local ?? nil, remote: (remote ?? nil)?.description, reason: reason)
    }

    private func drop(_ client: Client, _ error: NetError) {
        if clients[client.descriptor] === client { warn("\(error)") }
        finish(client)
    }

    /// Forgets the client: stop watching (before the number can be reused), close, count.
    private func finish(_ client: Client) {
        guard clients[client.descriptor] === client else { return }
        if let timer = client.deadline { loop.cancel(timer) }
        loop.unwatch(client.descriptor)
        clients[client.descriptor] = nil
        client.socket.close()
        counts.done.add(1, ordering: .relaxed)
        counts.open.subtract(1, ordering: .sequentiallyConsistent)
        stopIfFinished()
    }

    /// After --count connections, whichever loop finishes the last of them (or the acceptor,
    /// if they all finished first) stops every loop. Both write before they read, in one
    /// order for all threads (sequentially consistent), so at least one of them sees both.
    private func stopIfFinished() {
        guard counts.acceptedAll.load(ordering: .sequentiallyConsistent),
            counts.open.load(ordering: .sequentiallyConsistent) == 0
        else { return }
        loops.forEach { $0.stop() }
    }
}
