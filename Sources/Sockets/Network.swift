// Go names a transport and an address family in one word: "tcp", "tcp4", "udp6".
// This file turns that word into socket parameters and picks addresses to match.

public struct Network: Sendable, CustomStringConvertible {
    public let name: String
    public let type: SocketType
    /// nil: either family ("tcp"); otherwise only IPv4 ("tcp4") or only IPv6 ("tcp6").
    public let family: Int32?

    /// Parses a Go network name; anything else is Go's `unknown network` error.
    public init(_ name: String, op: String) throws(NetError) {
        self.name = name
        switch name {
        case "tcp", "tcp4", "tcp6": type = .stream
        case "udp", "udp4", "udp6": type = .datagram
        default: throw NetError(op: op, network: name, remote: nil, reason: .other("unknown network \(name)"))
        }
        family = name.hasSuffix("4") ? Platform.ipv4 : name.hasSuffix("6") ? Platform.ipv6 : nil
    }

    public var description: String { name }

    /// Resolves `host:port` into the addresses this network can use, in resolver order.
    /// An empty host means every local address when listening, loopback when dialing
    /// (what Go does for `:8080`).
    public func addresses(_ hostPort: String, op: String, listening: Bool) throws(NetError) -> [Address] {
        func fail(_ words: String) -> NetError { NetError(op: op, network: name, remote: nil, reason: .other(words)) }
        let host: String, port: UInt16
        do { (host, port) = try Address.split(hostPort) } catch { throw fail(error.description) }
        let ips: [IP]
        if host.isEmpty {
            switch (family, listening) {
            case (Platform.ipv4, true): ips = [.anyV4]
            case (_, true): ips = [.anyV6]  // dual-stack unless tcp6/udp6: see `Listener`
            case (Platform.ipv6, false): ips = [.loopbackV6]
            case (_, false): ips = [.loopbackV4, .loopbackV6]
            }
        } else {
            do { ips = try Resolver.lookupIP(host) } catch { throw fail(error.description) }
        }
        // An IPv4-mapped address (::ffff:a.b.c.d) is IPv4, as it is in Go.
        let usable = ips.map(\.unmapped).filter { family == nil || $0.family == family }
        guard !usable.isEmpty else { throw fail("address \(host): no suitable address found") }
        return usable.map { Address(ip: $0, port: port) }
    }

    /// The one address to listen on: like Go, the first IPv4 one when either family will do.
    public func listenAddress(_ hostPort: String) throws(NetError) -> Address {
        let all = try addresses(hostPort, op: "listen", listening: true)
        return family == nil ? all.first(where: \.ip.isIPv4) ?? all[0] : all[0]
    }

    /// On an IPv6 socket, "tcp" and "udp" take IPv4 peers too (dual stack, as Go does),
    /// "tcp6" and "udp6" IPv6 peers only. Set before `bind`; IPv4 sockets are left alone.
    func setDualStack(_ socket: Socket, for address: Address) throws(SystemError) {
        guard address.family == Platform.ipv6 else { return }
        try socket.setOption(Platform.ipv6Level, Platform.ipv6Only, Int32(family == nil ? 0 : 1))
    }
}
