// Name to addresses with getaddrinfo(3), as Go's net.LookupHost does when it uses the
// system's resolver: /etc/hosts, then DNS, in the order nsswitch.conf gives.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed lookup. Prints like Go's `net.DNSError`: `lookup nosuch.test: no such host`.
public struct LookupError: Error, Sendable, CustomStringConvertible {
    public let name: String
    public let reason: String
    /// The name does not exist (as opposed to a resolver that could not be asked).
    public let isNotFound: Bool

    public init(name: String, reason: String, isNotFound: Bool) {
        self.name = name
        self.reason = reason
        self.isNotFound = isNotFound
    }

    public var description: String { "lookup \(name): \(reason)" }
}

public enum Resolver {
    /// Every address of `name`, IPv4 and IPv6, in getaddrinfo's order, each once.
    /// A numeric name comes back as itself without asking anyone.
    public static func lookupIP(_ name: String) throws(LookupError) -> [IP] {
        if let ip = IP(name) { return [ip] }
        var hints = addrinfo()
        hints.ai_family = Platform.unspecified
        hints.ai_socktype = Platform.stream  // one entry per address, not one per socket type
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        let savedErrno = Platform.errno
        defer { if let list { freeaddrinfo(list) } }  // on every path, errors included
        guard status == 0 else { throw lookupError(name, status: status, errno: savedErrno) }
        var ips: [IP] = []
        var entry = list
        while let current = entry?.pointee {
            if let sockaddr = current.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) {
                    $0.copyMemory(from: UnsafeRawBufferPointer(start: sockaddr, count: Int(current.ai_addrlen)))
                }
                if let ip = Address(storage: storage)?.ip, !ips.contains(ip) { ips.append(ip) }
            }
            entry = current.ai_next
        }
        return ips
    }

    /// Go's `net.LookupHost`: the same list, as strings.
    public static func lookupHost(_ name: String) throws(LookupError) -> [String] {
        try lookupIP(name).map(\.description)
    }

    /// Explains a getaddrinfo failure with `gai_strerror` (not `strerror`), in Go's words
    /// where Go has its own: a name that does not exist is `no such host`.
    static func lookupError(_ name: String, status: Int32, errno: Int32) -> LookupError {
        switch status {
        case EAI_NONAME, Platform.noData:
            return LookupError(name: name, reason: "no such host", isNotFound: true)
        case EAI_SYSTEM:
            return LookupError(name: name, reason: SystemError.message(for: errno), isNotFound: false)
        default:
            let text = String(cString: gai_strerror(status))
            return LookupError(name: name, reason: text.prefix(1).lowercased() + text.dropFirst(), isNotFound: false)
        }
    }
}
