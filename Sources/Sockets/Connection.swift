// A connected TCP socket with Go's `net.Conn` behaviour: read returns what has arrived
// (0 bytes means the peer closed: EOF, not an error), write sends everything, and
// deadlines turn a wait that runs too long into `i/o timeout`.
import Synchronization

public final class Connection: Sendable {
    public let socket: Socket
    public let network: String
    public let localAddress: Address?
    public let remoteAddress: Address?
    private let deadlines = Mutex<(read: Deadline?, write: Deadline?)>((nil, nil))

    /// Wraps a connected, blocking socket. `remote` is who `accept` said it was from: a peer
    /// that reset the connection while it waited in the accept queue leaves `getpeername`
    /// nothing to say, but accept still knew.
    public init(socket: Socket, network: String, remote: Address? = nil) {
        self.socket = socket
        self.network = network
        localAddress = try? socket.localAddress()
        remoteAddress = remote ?? (try? socket.remoteAddress())
    }

    /// After `deadline`, a read waiting for data fails with `i/o timeout`. nil: wait forever.
    public func setReadDeadline(_ deadline: Deadline?) { deadlines.withLock { $0.read = deadline } }
    public func setWriteDeadline(_ deadline: Deadline?) { deadlines.withLock { $0.write = deadline } }

    // ANCHOR: read
    /// Reads what has arrived, up to `buffer.count` bytes, blocking until at least one byte
    /// (or EOF) is there. Returns 0 at end of stream.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func read(into buffer: inout [UInt8]) throws(NetError) -> Int {
        let deadline = deadlines.withLock { $0.read }
        // As in Go, a deadline already past fails the read at once, even with bytes waiting.
        if let deadline, deadline.hasPassed { throw failure(.timeout, "read") }
        let count: Int?
        do { count = try receive(into: &buffer, until: deadline) } catch { throw failure(.system(error), "read") }
        guard let count else { throw failure(.timeout, "read") }
        return count
    }

    /// With a deadline, sleep in `poll` (which can time out), then read without waiting;
    /// without one, the read itself blocks in the kernel. nil: the deadline passed.
    private func receive(into buffer: inout [UInt8], until deadline: Deadline?) throws(SystemError) -> Int? {
        while true {
            if let deadline, try !socket.wait(for: .readable, until: deadline) { return nil }
            let result = try buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(SystemError) in try socket.read(into: bytes, dontWait: deadline != nil) }
            }.get()
            if case .done(let count) = result { return count }
            // Would block on a socket someone made nonblocking: sleep in poll, do not spin.
            if deadline == nil { _ = try socket.wait(for: .readable, until: nil) }
        }
    }
    // ANCHOR_END: read

    /// Reads up to `maxLength` bytes; an empty array is end of stream.
    public func read(maxLength: Int = 4096) throws(NetError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxLength)
        let count = try read(into: &buffer)
        return Array(buffer.prefix(count))
    }

    /// Reads until the peer closes, and returns everything.
    public func readToEnd() throws(NetError) -> [UInt8] {
        var all: [UInt8] = []
        while case let chunk = try read(maxLength: 65_536), !chunk.isEmpty { all += chunk }
        return all
    }

    /// Writes every byte (finishing partial writes). A peer that hung up gives `EPIPE`
    /// or `ECONNRESET` as an error, never SIGPIPE.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func write(_ bytes: [UInt8]) throws(NetError) {
        let deadline = deadlines.withLock { $0.write }
        if let deadline, deadline.hasPassed { throw failure(.timeout, "write") }
        let finished: Bool
        do { finished = try socket.writeAll(bytes, until: deadline) } catch { throw failure(.system(error), "write") }
        guard finished else { throw failure(.timeout, "write") }
    }

    public func write(_ text: String) throws(NetError) { try write(Array(text.utf8)) }

    /// Half close (Go's `CloseWrite`): send FIN; the peer reads EOF, and can still send to us.
    public func closeWrite() throws(NetError) {
        do { try socket.shutdown(.write) } catch { throw failure(.system(error), "shutdown") }
    }

    /// `TCP_NODELAY`: send small writes at once instead of letting Nagle's algorithm hold
    /// them until the previous segment is acknowledged. (Go turns this on for every TCP
    /// connection; the kernel's default, and ours, is off.)
    public func setNoDelay(_ on: Bool) throws(NetError) {
        do { try socket.setOption(Platform.tcp, Platform.noDelay, Int32(on ? 1 : 0)) } catch {
            throw failure(.system(error), "setsockopt")
        }
    }

    /// Closes at once. A client's close, or a server's once the peer has sent EOF: with
    /// bytes from the peer still unread, Linux answers the close with RST (RFC 1122,
    /// 4.2.2.13), and a reset makes the peer's kernel drop what its program had not read yet.
    public func close() { socket.close() }

    // ANCHOR: close-gracefully
    /// A server's close, so the peer gets every byte we wrote: send FIN (`shutdown(SHUT_WR)`),
    /// then read and throw away whatever the peer still sends until its EOF, or until
    /// `time` or `bytes` run out (a lingering close, as Apache and nginx do), then close.
    /// Unread bytes at close() make Linux send RST, and a reset loses our last writes.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func closeGracefully(lingering time: Duration = .seconds(2), discarding bytes: Int = 65_536) {
        defer { close() }
        guard (try? closeWrite()) != nil else { return }  // not connected any more: nothing to save
        setReadDeadline(.after(time))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var discarded = 0
        while discarded < bytes, let count = try? read(into: &buffer), count > 0 { discarded += count }
    }
    // ANCHOR_END: close-gracefully

    private func failure(_ reason: NetError.Reason, _ op: String) -> NetError {
        NetError(op: op, network: network, local: localAddress, remote: remoteAddress?.description, reason: reason)
    }
}
