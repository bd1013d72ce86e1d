// Go's `tls.Dialer` and `tls.Listen`: the plain TCP versions from the Sockets module,
// with a TLS connection on top.
import Dispatch
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
    /// At most this many connections accepted and not yet through their handshake. Each
    /// holds a thread and a descriptor for up to the handshake timeout, so a flood of
    /// clients that connect and say nothing would otherwise take every descriptor and
    /// thread from the good ones. Past the bound, `accept(reporting:)` waits for a slot and
    /// new clients wait in the kernel's backlog. 64 is far more handshakes than two cores
    /// run at once (a few thousand a second each), and far fewer than a descriptor limit.
    public let maxHandshakes: Int
    private let handshakeSlots: DispatchSemaphore

    /// Go's `tls.Listen(network, address, config)`.
    public init(_ network: String, _ hostPort: String, _ context: TLSContext, maxHandshakes: Int = 64)
        throws(NetError)
    {
        listener = try Listener(network, hostPort)
        self.context = context
        self.maxHandshakes = max(1, maxHandshakes)
        handshakeSlots = DispatchSemaphore(value: self.maxHandshakes)
    }

    public var address: Address { listener.address }

    public func accept() throws -> TLSConnection {
        try TLSConnection.server(try listener.accept(), context)
    }

    /// For a server that must keep serving: `Listener.accept(reporting:)` (a failed
    /// connection skipped, a lack of descriptors waited out, 5 ms doubling up to 1 s), with
    /// at most `maxHandshakes` handshakes under way: each connection holds a slot until its
    /// handshake ends, either way, or it is closed.
    public func accept(reporting report: (NetError, _ retryIn: Duration) -> Void) throws -> TLSConnection {
        handshakeSlots.wait()
        do {
            let tcp = try listener.accept(reporting: report)
            return try TLSConnection.server(
                tcp, context, onHandshakeEnd: { [handshakeSlots] in handshakeSlots.signal() })
        } catch {
            handshakeSlots.signal()
            throw error
        }
    }

    public func close() { listener.close() }
}
