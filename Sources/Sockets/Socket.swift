import Synchronization

// A socket that owns its descriptor: one object, one descriptor, closed exactly once.
// These are the system calls themselves, one method each, throwing `SystemError`.
// `Connection`, `Listener` and `PacketConn` build Go's API on top of them.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class Socket: Sendable {
    /// The descriptor (-1 once closed), how many calls are using it right now, and whether
    /// `close()` was called. A descriptor number is reused by the very next `socket` or
    /// `open`, so it must stay open while any call on it is under way: `close()` during a
    /// call only marks it closing (and wakes the call), and the last call out closes it.
    private struct State {
        var fd: Int32
        var callsUnderWay = 0
        var closing = false
    }
    private let state: Mutex<State>

    /// The descriptor, for `poll` and `getsockopt`. -1 after `close()`.
    public var descriptor: Int32 { state.withLock { $0.closing ? -1 : $0.fd } }

    /// How many calls are using the descriptor now (the tests wait for a call to be under way).
    var callsInProgress: Int { state.withLock { $0.callsUnderWay } }

    /// `socket(family, type, 0)` with close-on-exec; `nonblocking` sets `O_NONBLOCK` too.
    public init(family: Int32, type: SocketType, nonblocking: Bool = false) throws(SystemError) {
        let fd = try systemCall(blocking: "socket") {
            Platform.socket(family: family, type: type.rawValue, nonblocking: nonblocking)
        }
        state = Mutex(State(fd: fd))
    }

    /// Takes ownership of a descriptor the kernel handed us (from `accept`).
    init(adopting descriptor: Int32) {
        state = Mutex(State(fd: descriptor))
    }

    /// The last owner to let go of an open socket closes it, so no path leaks a descriptor.
    deinit { close() }

    /// Closes the descriptor. Safe to call more than once, and from any thread: if another
    /// thread is in a call on this socket, `shutdown` wakes it (a blocked `read` returns EOF,
    /// `accept` fails) and that call closes the descriptor on its way out.
    /// `close` is never retried on EINTR: on Linux the descriptor is gone either way.
    public func close() {
        let fd = state.withLock { state -> Int32 in
            guard !state.closing else { return -1 }
            state.closing = true
            if state.callsUnderWay > 0 {
                _ = Platform.shutdown(state.fd, Platform.shutdownBoth)  // under the lock: fd still ours
                return -1
            }
            defer { state.fd = -1 }
            return state.fd
        }
        if fd >= 0 { Platform.close(fd) }
    }

    /// Runs `body` with the descriptor, which stays open until `body` returns. The lock is
    /// not held during `body`, so a blocked call does not stop `close()` from waking it.
    func using<Result>(_ name: String, _ body: (Int32) throws(SystemError) -> Result) throws(SystemError) -> Result {
        let fd = state.withLock { state -> Int32 in
            guard !state.closing else { return -1 }
            state.callsUnderWay += 1
            return state.fd
        }
        guard fd >= 0 else { throw SystemError(call: name, code: EBADF) }  // used after close()
        defer {
            let last = state.withLock { state -> Int32 in
                state.callsUnderWay -= 1
                guard state.closing, state.callsUnderWay == 0 else { return -1 }
                defer { state.fd = -1 }
                return state.fd
            }
            if last >= 0 { Platform.close(last) }
        }
        return try body(fd)
    }

    /// One system call on the descriptor, through the module's one helper (`systemCall`).
    private func call<Result: BinaryInteger>(
        _ name: String, _ body: (Int32) -> Result
    ) throws(SystemError) -> IOResult<Result> {
        try using(name) { fd throws(SystemError) in try systemCall(name) { body(fd) } }
    }

    @discardableResult
    private func call<Result: BinaryInteger>(blocking name: String, _ body: (Int32) -> Result) throws(SystemError)
        -> Result
    {
        switch try call(name, body) {
        case .done(let value): return value
        case .wouldBlock: throw SystemError(call: name, code: EAGAIN)
        }
    }

    // MARK: Setting up

    public func bind(_ address: Address) throws(SystemError) {
        try call(blocking: "bind") { fd in address.withSockAddr { Platform.bind(fd, $0, $1) } }
    }

    public func listen(backlog: Int32 = SOMAXCONN) throws(SystemError) {
        try call(blocking: "listen") { Platform.listen($0, backlog) }
    }

    /// Starts a connection. `true`: connected. `false`: a nonblocking socket got
    /// `EINPROGRESS`; wait until writable, then read `pendingError()` for the outcome.
    public func connect(_ address: Address) throws(SystemError) -> Bool {
        do {
            try call(blocking: "connect") { fd in address.withSockAddr { Platform.connect(fd, $0, $1) } }
            return true
        } catch  where error.code == EINPROGRESS {
            return false
        }
    }

    /// The next connection from the accept queue, and who it is from.
    public func accept() throws(SystemError) -> IOResult<(Socket, Address?)> {
        var result: IOResult<Int32> = .wouldBlock
        let peer = try Address.receive { address, length throws(SystemError) in
            result = try call("accept4") { Platform.accept($0, address, length) }
        }
        guard case .done(let fd) = result else { return .wouldBlock }
        return .done((Socket(adopting: fd), peer))
    }

    public func shutdown(_ how: Shutdown) throws(SystemError) {
        try call(blocking: "shutdown") { Platform.shutdown($0, how.rawValue) }
    }

    // MARK: Moving bytes

    /// One `recv`: fills the front of `buffer`. `.done(0)` is end of stream, not an error.
    /// `dontWait` makes this one call nonblocking even on a blocking socket.
    public func read(into buffer: UnsafeMutableRawBufferPointer, dontWait: Bool = false) throws(SystemError)
        -> IOResult<Int>
    {
        try call("read") { Platform.receive($0, buffer, dontWait: dontWait) }
    }

    /// One `send`, which may take only part of `bytes`. Never raises SIGPIPE.
    public func send(_ bytes: UnsafeRawBufferPointer, dontWait: Bool = false) throws(SystemError) -> IOResult<Int> {
        try call("write") { Platform.send($0, bytes, dontWait: dontWait) }
    }

    /// Sends every byte, however many calls it takes: the kernel may accept only part of a
    /// write when its send buffer is full. When a call would block (a nonblocking socket,
    /// or any socket given a deadline) it waits with `poll`. Returns false if the deadline
    /// passed before every byte was handed to the kernel.
    public func writeAll(_ bytes: [UInt8], until deadline: Deadline? = nil) throws(SystemError) -> Bool {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { all in
                Result { () throws(SystemError) in
                    try send(UnsafeRawBufferPointer(rebasing: all[written...]), dontWait: deadline != nil)
                }
            }
            switch try result.get() {
            case .done(let count):
                written += count
            case .wouldBlock:
                guard try wait(for: .writable, until: deadline) else { return false }
            }
        }
        return true
    }

    /// One datagram and its sender. A datagram longer than `maxLength` is cut short.
    public func receiveFrom(maxLength: Int = 65_536, dontWait: Bool = false) throws(SystemError) -> IOResult<
        ([UInt8], Address?)
    > {
        var bytes = [UInt8](repeating: 0, count: maxLength)
        var result: IOResult<Int> = .wouldBlock
        let sender = try bytes.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in
                try Address.receive { address, length throws(SystemError) in
                    result = try call("recvfrom") {
                        Platform.receiveFrom($0, buffer, dontWait: dontWait, address, length)
                    }
                }
            }
        }.get()
        guard case .done(let count) = result else { return .wouldBlock }
        return .done((Array(bytes.prefix(count)), sender))
    }

    /// One datagram to `address`. Datagrams are sent whole or not at all.
    public func sendTo(_ bytes: [UInt8], _ address: Address) throws(SystemError) -> IOResult<Int> {
        try call("sendto") { fd in
            bytes.withUnsafeBytes { buffer in address.withSockAddr { Platform.sendTo(fd, buffer, $0, $1) } }
        }
    }

    // MARK: Options and names

    public func setNonblocking(_ on: Bool) throws(SystemError) {
        let flags = try call(blocking: "fcntl") { fcntl($0, F_GETFL) }
        try call(blocking: "fcntl") { fcntl($0, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) }
    }

    public func setOption<Value: BitwiseCopyable>(_ level: Int32, _ name: Int32, _ value: Value) throws(SystemError) {
        var value = value
        try call(blocking: "setsockopt") { setsockopt($0, level, name, &value, socklen_t(MemoryLayout<Value>.size)) }
    }

    public func option<Value: BitwiseCopyable>(_ level: Int32, _ name: Int32, as type: Value.Type, initial: Value)
        throws(SystemError) -> Value
    {
        var value = initial
        var length = socklen_t(MemoryLayout<Value>.size)
        try call(blocking: "getsockopt") { getsockopt($0, level, name, &value, &length) }
        return value
    }

    /// `SO_ERROR`: the outcome of a nonblocking `connect`, as an errno (0 = connected).
    public func pendingError() throws(SystemError) -> Int32 {
        try option(SOL_SOCKET, SO_ERROR, as: Int32.self, initial: 0)
    }

    /// TCP: how many segments carrying data this socket has sent so far (nil where the
    /// kernel does not tell). Shows how writes became packets: Nagle's algorithm and
    /// the kernel's corking can put many small writes in one segment.
    public func dataSegmentsSent() -> Int? {
        Platform.dataSegmentsSent(descriptor).map(Int.init)
    }

    /// `getsockname`: our end. With port 0 at `bind`, this is where the real port shows up.
    public func localAddress() throws(SystemError) -> Address? {
        try Address.receive { address, length throws(SystemError) in
            try call(blocking: "getsockname") { getsockname($0, address, length) }
        }
    }

    /// `getpeername`: the other end of a connected socket.
    public func remoteAddress() throws(SystemError) -> Address? {
        try Address.receive { address, length throws(SystemError) in
            try call(blocking: "getpeername") { getpeername($0, address, length) }
        }
    }

    /// Waits until this socket is ready, or the deadline passes (returns false).
    public func wait(for readiness: Readiness, until deadline: Deadline?) throws(SystemError) -> Bool {
        try using("poll") { fd throws(SystemError) in try Poll.wait(fd, for: readiness, until: deadline) }
    }
}

public struct SocketType: Sendable {
    public let rawValue: Int32
    public static let stream = SocketType(rawValue: Platform.stream)
    public static let datagram = SocketType(rawValue: Platform.datagram)
}

public struct Shutdown: Sendable {
    public let rawValue: Int32
    /// Half close: send FIN, keep reading. The peer reads EOF but can still send.
    public static let write = Shutdown(rawValue: Platform.shutdownWrite)
    public static let both = Shutdown(rawValue: Platform.shutdownBoth)
}
