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
        let wanted = try net.addresses(hostPort, op: "listen", listening: true)[0]
        func fail(_ error: SystemError) -> NetError { NetError(op: "listen", network: network, remote: wanted.description, error) }
        do {
            socket = try Socket(family: wanted.family, type: .stream)
            // Like Go: restart on a port whose old connections are still in TIME_WAIT.
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR, Int32(1))
            if wanted.family == Platform.ipv6 {
                // "tcp" on [::] takes IPv4 clients too (dual stack); "tcp6" only IPv6 ones.
                try socket.setOption(Platform.ipv6Level, IPV6_V6ONLY, Int32(net.family == nil ? 0 : 1))
            }
            try socket.bind(wanted)
            try socket.listen(backlog: backlog)
            address = try socket.localAddress() ?? wanted
        } catch {
            throw fail(error)
        }
        self.network = network
    }

    /// Waits for the next connection. Errors are the listener's (`EMFILE`, `ECONNABORTED`):
    /// a server logs them and goes on, pausing on `EMFILE` rather than spinning.
    public func accept() throws(NetError) -> Connection {
        while true {
            do {
                if case .done(let (connection, _)) = try socket.accept() {
                    return Connection(socket: connection, network: network)
                }
                _ = try socket.wait(for: .readable, until: nil)  // only if someone made us nonblocking
            } catch {
                throw NetError(op: "accept", network: network, remote: address.description, error)
            }
        }
    }

    public func close() { socket.close() }
}
