// A listening TCP socket with Go's `net.Listen` behaviour: bind (port 0 lets the kernel
// pick), listen, then hand out one `Connection` per `accept`.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class Listener: Sendable {
    public let socket: Socket
    public let network: String
    /// Where we really listen: with port 0 asked, the port the kernel chose.
    public let address: Address

    /// Go's `net.Listen(network, address)`, e.g. `Listener("tcp", "127.0.0.1:0")`.
    /// `backlog` bounds the queue of connections the kernel completes before we `accept`.
    public init(_ network: String, _ hostPort: String, backlog: Int32 = SOMAXCONN) throws(NetError) {
        let net = try Network(network, op: "listen")
        guard net.type.rawValue == SocketType.stream.rawValue else {
            throw NetError(
                op: "listen", network: network, remote: nil,
                reason: .other("not a stream network (UDP: use PacketConn)"))
        }
        let wanted = try net.listenAddress(hostPort)
        func fail(_ error: SystemError) -> NetError {
            NetError(op: "listen", network: network, remote: wanted.description, error)
        }
        do {
            socket = try Socket(family: wanted.family, type: .stream)
            // Like Go: restart on a port whose old connections are still in TIME_WAIT.
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR, Int32(1))
            try net.setDualStack(socket, for: wanted)
            try socket.bind(wanted)
            try socket.listen(backlog: backlog)
            address = try socket.localAddress() ?? wanted
        } catch {
            throw fail(error)
        }
        self.network = network
    }

    /// Waits for the next connection. Errors are the listener's (`EMFILE`, `ECONNABORTED`):
    /// a server logs them and goes on, pausing on `EMFILE` rather than spinning (see
    /// `accept(reporting:)`, which does that).
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func accept() throws(NetError) -> Connection {
        while true {
            do {
                if case .done(let (connection, peer)) = try socket.accept() {
                    return Connection(socket: connection, network: network, remote: peer)
                }
                _ = try socket.wait(for: .readable, until: nil)  // only if someone made us nonblocking
            } catch {
                throw NetError(op: "accept", network: network, remote: address.description, error)
            }
        }
    }

    // ANCHOR: accept-reporting
    /// `accept` for a server that must keep serving, whatever happens to one connection,
    /// as Go's `http.Server` does. A failure that belongs to one connection (`ECONNABORTED`)
    /// is reported and skipped. Running out of descriptors or memory (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`) is reported, then we sleep, 5 ms doubling up to 1 s, so that
    /// connections being served can finish and free some: retrying at once would spin on
    /// an error that does not go away by itself. Anything else (the listener was closed)
    /// is thrown. `report` gets each error and how long we wait before trying again.
    public func accept(reporting report: (NetError, _ retryIn: Duration) -> Void) throws(NetError) -> Connection {
        var pause = Duration.zero
        while true {
            do {
                return try accept()
            } catch let error where Platform.acceptErrorsToSkip.contains(error.code ?? 0) {
                report(error, .zero)
            } catch let error where Platform.acceptErrorsToWaitOut.contains(error.code ?? 0) {
                pause = pause == .zero ? .milliseconds(5) : min(pause * 2, .seconds(1))
                report(error, pause)
                Poll.sleep(pause)
            }
        }
    }
    // ANCHOR_END: accept-reporting

    public func close() { socket.close() }
}
