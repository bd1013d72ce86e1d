// A TCP connection whose reads and writes suspend the task, not the thread: Go's net.Conn
// as a goroutine sees it. Each call tries the system call first; only on EAGAIN does the
// task wait for the event loop to say the socket is ready (PollDescriptor).
import EventLoop
import Sockets
import Synchronization

public final class AsyncConnection: Sendable {
    public let network: String
    let socket: Socket
    private let poll: PollDescriptor
    private let deadlines = Mutex<(read: Deadline?, write: Deadline?)>((nil, nil))

    /// Takes a connected socket, makes it nonblocking and registers it with `loop`.
    public convenience init(socket: Socket, network: String, loop: EventLoop) throws(NetError) {
        do { try socket.setNonblocking(true) } catch {
            socket.close()
            throw NetError(op: "fcntl", network: network, remote: nil, error)
        }
        self.init(nonblocking: socket, network: network, loop: loop)
    }

    /// Takes a socket that is nonblocking already (from `acceptNonblocking`).
    init(nonblocking socket: Socket, network: String, loop: EventLoop) {
        self.socket = socket
        self.network = network
        poll = PollDescriptor(socket, loop: loop)
    }

    /// The two ends' addresses, asked of the kernel when wanted (an error message), not for
    /// every connection: two system calls each time would cost a busy server dearly.
    /// The loop that watches this connection: the executor its task should prefer, so
    /// that a read resumed by the loop runs on the loop's thread, with no hand-off.
    public var loop: EventLoop { poll.loop }

    public var localAddress: Address? { (try? socket.localAddress()) ?? nil }
    public var remoteAddress: Address? { (try? socket.remoteAddress()) ?? nil }

    deinit { close() }

    /// After `deadline`, a read (or write) still waiting fails with `i/o timeout`.
    public func setReadDeadline(_ deadline: Deadline?) { deadlines.withLock { $0.read = deadline } }
    public func setWriteDeadline(_ deadline: Deadline?) { deadlines.withLock { $0.write = deadline } }

    // ANCHOR: read
    /// Reads what has arrived (0: the peer closed). A task with nothing to read is
    /// suspended until the loop sees data; cancelling the task ends the wait.
    public func read(into buffer: inout [UInt8]) async throws -> Int {
        let deadline = deadlines.withLock { $0.read }
        while true {
            if let deadline, deadline.hasPassed { throw failure(.timeout, "read") }
            let result: IOResult<Int>
            do {
                result = try buffer.withUnsafeMutableBytes { bytes in
                    Result { () throws(SystemError) in try socket.read(into: bytes) }
                }.get()
            } catch { throw failure(.system(error), "read") }
            if case .done(let count) = result { return count }
            try await wait(for: .read, until: deadline, "read")
        }
    }
    // ANCHOR_END: read

    public func read(maxLength: Int = 4096) async throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxLength)
        let count = try await read(into: &buffer)
        return Array(buffer.prefix(count))
    }

    // ANCHOR: write
    /// Writes every byte: a partial write waits for room in the send buffer, then goes on.
    public func write(_ bytes: [UInt8]) async throws {
        let deadline = deadlines.withLock { $0.write }
        var written = 0
        while written < bytes.count {
            if let deadline, deadline.hasPassed { throw failure(.timeout, "write") }
            let result: IOResult<Int>
            do {
                result = try bytes.withUnsafeBytes { all in
                    Result { () throws(SystemError) in
                        try socket.send(UnsafeRawBufferPointer(rebasing: all[written...]))
                    }
                }.get()
            } catch { throw failure(.system(error), "write") }
            switch result {
            case .done(let count): written += count
            case .wouldBlock: try await wait(for: .write, until: deadline, "write")
            }
        }
    }
    // ANCHOR_END: write

    /// Half close: send FIN, keep reading.
    public func closeWrite() throws(NetError) {
        do { try socket.shutdown(.write) } catch { throw failure(.system(error), "shutdown") }
    }

    /// Closes the connection: waits under way fail, and the loop forgets the descriptor.
    public func close() { poll.close() }

    private func wait(for direction: PollDescriptor.Direction, until deadline: Deadline?, _ op: String) async throws {
        do { try await poll.wait(for: direction, until: deadline) } catch WaitFailure.deadlineExceeded {
            throw failure(.timeout, op)
        } catch WaitFailure.closed {
            throw failure(.other("use of closed network connection"), op)
        }
    }

    private func failure(_ reason: NetError.Reason, _ op: String) -> NetError {
        NetError(op: op, network: network, local: localAddress, remote: remoteAddress?.description, reason: reason)
    }
}
