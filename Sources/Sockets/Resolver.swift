// Name to addresses with getaddrinfo(3), as Go's net.LookupHost does when it uses the
// system's resolver: /etc/hosts, then DNS, in the order nsswitch.conf gives.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed lookup. Prints like Go's `net.DNSError`: `lookup nosuch.test: no such host`,
/// or, when one DNS server was asked, `lookup nosuch.test on 127.0.0.1:53: no such host`.
public struct LookupError: Error, Sendable, CustomStringConvertible {
    public let name: String
    public let reason: String
    /// The name does not exist (as opposed to a resolver that could not be asked).
    public let isNotFound: Bool
    /// No answer came in time.
    public let isTimeout: Bool
    /// The DNS server that was asked (`host:port`), when we asked one ourselves.
    public let server: String?

    public init(name: String, reason: String, isNotFound: Bool, isTimeout: Bool = false, server: String? = nil) {
        self.name = name
        self.reason = reason
        self.isNotFound = isNotFound
        self.isTimeout = isTimeout
        self.server = server
    }

    public var description: String {
        server.map { "lookup \(name) on \($0): \(reason)" } ?? "lookup \(name): \(reason)"
    }

    /// The same error, named by the name as the caller wrote it.
    public func named(_ name: String) -> LookupError {
        LookupError(name: name, reason: reason, isNotFound: isNotFound, isTimeout: isTimeout, server: server)
    }

    public static func noSuchHost(_ name: String, server: String? = nil) -> LookupError {
        LookupError(name: name, reason: "no such host", isNotFound: true, server: server)
    }
}

public enum Resolver {
    // ANCHOR: lookup-ip
    /// Every address of `name`, IPv4 and IPv6, in getaddrinfo's order, each once.
    /// A numeric name comes back as itself without asking anyone. A name that cannot be a
    /// DNS name (`a..b`, `-x`, empty, a NUL byte that C would read as the end) is `no such
    /// host` at once, as in Go's own resolver: it is never handed to getaddrinfo.
    public static func lookupIP(_ name: String) throws(LookupError) -> [IP] {
        if let ip = IP(name) { return [ip] }
        guard DNSName(name) != nil else { throw .noSuchHost(name) }
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
    // ANCHOR_END: lookup-ip

    /// Go's `net.LookupHost`: the same list, as strings. A numeric name comes back exactly
    /// as it was written (`0:0::1` stays `0:0::1`), as in Go.
    public static func lookupHost(_ name: String) throws(LookupError) -> [String] {
        if IP(name) != nil { return [name] }
        return try lookupIP(name).map(\.description)
    }

    // ANCHOR: gai-error
    /// Explains a getaddrinfo failure with `gai_strerror` (not `strerror`), in Go's words
    /// where Go has its own: a name that does not exist is `no such host`; EAI_SYSTEM is
    /// the errno behind it. Other codes print `gai_strerror`'s text unchanged, as Go's cgo
    /// resolver does (`lookup x: Temporary failure in name resolution`).
    static func lookupError(_ name: String, status: Int32, errno: Int32) -> LookupError {
        switch status {
        case EAI_NONAME, Platform.noData:
            return .noSuchHost(name)
        case EAI_SYSTEM:  // Go, too, names EMFILE when glibc forgets to set errno
            return LookupError(
                name: name, reason: SystemError.message(for: errno == 0 ? EMFILE : errno), isNotFound: false)
        default:
            return LookupError(name: name, reason: String(cString: gai_strerror(status)), isNotFound: false)
        }
    }
    // ANCHOR_END: gai-error
}
