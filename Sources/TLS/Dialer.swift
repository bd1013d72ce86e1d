// Go's `tls.Dialer` and `tls.Listen`: the plain TCP versions from the Sockets module,
// with a TLS connection on top.
import Sockets

// ANCHOR: dialer
public struct TLSDialer: Sendable {
    public var config: TLSConfig
    /// The whole dial (name lookup, connect, handshake) must finish in this time, like
    /// Go's `tls.DialWithDialer`. nil: only the handshake timeout applies.
    public var timeout: Duration?

    public init(config: TLSConfig = TLSConfig(), timeout: Duration? = nil) {
        self.config = config
        self.timeout = timeout
    }

    /// Connects to `hostPort`, shakes hands and verifies the server: the certificate must
    /// chain to a trusted root and be valid for `config.serverName`, or else for the host
    /// part of `hostPort`.
    public func dial(_ network: String, _ hostPort: String) throws -> TLSConnection {
        let deadline = timeout.flatMap { $0 == .zero ? nil : Deadline.after($0) }  // zero: no limit, as in Go
        let context = try TLSContext(.client, config)  // a bad CA file fails before any packet
        let tcp = try Dialer(timeout: timeout).dial(network, hostPort)
        let host = try config.serverName ?? Address.split(hostPort).host  // dial checked its shape
        let connection = try TLSConnection.client(tcp, context, host: host)
        try connection.handshake(until: deadline)
        return connection
    }
}
// ANCHOR_END: dialer

/// A listener that hands out server-side TLS connections. Each handshake happens on the
/// connection's first use, in the thread that serves it: a slow client never stalls `accept`.
public final class TLSListener: Sendable {
    public let listener: Listener
    public let context: TLSContext

    /// Go's `tls.Listen(network, address, config)`.
    public init(_ network: String, _ hostPort: String, _ context: TLSContext) throws(NetError) {
        listener = try Listener(network, hostPort)
        self.context = context
    }

    public var address: Address { listener.address }

    public func accept() throws -> TLSConnection {
        try TLSConnection.server(try listener.accept(), context)
    }

    public func close() { listener.close() }
}
