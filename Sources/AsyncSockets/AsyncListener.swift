// A listening socket whose `accept` suspends the task until a connection is waiting. The
// listener is watched by the group's first loop; each connection goes to the group's next
// loop in turn, and its task should run there too (`connection.loop`, an executor).
import EventLoop
import Sockets

public final class AsyncListener: Sendable {
    public let network: String
    public let address: Address
    private let listener: Listener
    private let loops: EventLoopGroup
    private let poll: PollDescriptor

    /// Go's `net.Listen`, registered with `loop`, as every connection it accepts.
    public convenience init(_ network: String, _ hostPort: String, loop: EventLoop) throws(NetError) {
        try self.init(network, hostPort, loops: EventLoopGroup([loop]))
    }

    /// Go's `net.Listen`; the connections spread over the group's loops.
    public init(_ network: String, _ hostPort: String, loops: EventLoopGroup) throws(NetError) {
        listener = try Listener(network, hostPort)
        do { try listener.socket.setNonblocking(true) } catch {
            listener.close()
            throw NetError(op: "listen", network: network, remote: hostPort, error)
        }
        self.network = network
        self.loops = loops
        address = listener.address
        poll = PollDescriptor(listener.socket, loop: loops.loops[0])
    }

    deinit { close() }

    // ANCHOR: accept
    /// The next connection. As `Listener.accept(reporting:)` does for threads: a failure
    /// that belongs to one connection is reported and skipped; running out of descriptors
    /// is reported and waited out (5 ms doubling to 1 s) by sleeping the task, not a thread.
    public func accept(reporting report: (NetError, _ retryIn: Duration) -> Void) async throws -> AsyncConnection {
        var pause = Duration.zero
        while true {
            let result: IOResult<Socket>
            do { result = try listener.socket.acceptNonblocking() } catch {
                let failure = NetError(op: "accept", network: network, remote: address.description, error)
                if AcceptErrors.belongToOneConnection(error.code) {
                    report(failure, .zero)
                    continue
                }
                guard AcceptErrors.areShortages(error.code) else { throw failure }
                pause = pause == .zero ? .milliseconds(5) : min(pause * 2, .seconds(1))
                report(failure, pause)
                try await Task.sleep(for: pause)
                continue
            }
            switch result {
            case .done(let socket):
                return AsyncConnection(nonblocking: socket, network: network, loop: loops.next())
            case .wouldBlock:
                do { try await poll.wait(for: .read, until: nil) } catch WaitFailure.closed {
                    throw NetError(
                        op: "accept", network: network, remote: address.description,
                        reason: .other("use of closed network connection"))
                }
            }
        }
    }
    // ANCHOR_END: accept

    public func close() { poll.close() }
}
