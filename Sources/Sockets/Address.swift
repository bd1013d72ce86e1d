// Addresses as values: an IP (4 or 16 bytes) and a port, written the way Go writes
// them: `127.0.0.1:8080`, `[::1]:8080`. The pointer juggling of `struct sockaddr`
// lives in two places only: `withSockAddr` (out to the kernel) and `init?(storage:)` (back).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 address, in network byte order.
public struct IP: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public static let loopbackV4 = IP(validBytes: [127, 0, 0, 1])
    public static let loopbackV6 = IP(validBytes: Array(repeating: 0, count: 15) + [1])
    public static let anyV4 = IP(validBytes: [0, 0, 0, 0])
    public static let anyV6 = IP(validBytes: Array(repeating: 0, count: 16))

    private init(validBytes: [UInt8]) { bytes = validBytes }

    /// 4 bytes for IPv4, 16 for IPv6; anything else is not an IP.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses `127.0.0.1` or `::1` (no brackets, no names: see `Resolver` for names).
    public init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(Platform.ipv4, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(Platform.ipv6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }
    public var family: Int32 { isIPv4 ? Platform.ipv4 : Platform.ipv6 }

    /// `::ffff:a.b.c.d`: an IPv4 peer seen through an IPv6 socket.
    public var isIPv4Mapped: Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
    }

    /// The plain IPv4 address behind an IPv4-mapped one; any other address as it is.
    public var unmapped: IP { isIPv4Mapped ? IP(validBytes: Array(bytes[12...])) : self }

    public var isLoopback: Bool {
        if isIPv4 || isIPv4Mapped { return bytes[bytes.count - 4] == 127 }
        return self == .loopbackV6
    }

    /// Go prints an IPv4-mapped address as plain IPv4, and so do we.
    public var description: String {
        let shown = isIPv4Mapped ? Array(bytes[12...]) : bytes
        let family = shown.count == 4 ? Platform.ipv4 : Platform.ipv6
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = shown.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A bad `host:port` string. Prints like Go's `net.AddrError`: `address 127.0.0.1: missing port in address`.
public struct AddressError: Error, Sendable, CustomStringConvertible {
    public let address: String
    public let problem: String

    public var description: String { "address \(address): \(problem)" }
}

/// An IP and a port: one end of a TCP connection or a UDP exchange.
public struct Address: Hashable, Sendable, CustomStringConvertible {
    public let ip: IP
    public let port: UInt16

    public init(ip: IP, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses a numeric `host:port` (`127.0.0.1:80`, `[::1]:80`). Names need `Resolver`.
    public init(_ text: String) throws(AddressError) {
        let (host, port) = try Address.split(text)
        guard let ip = IP(host) else {
            throw AddressError(address: text, problem: host.isEmpty ? "missing host in address" : "not a numeric IP")
        }
        self.init(ip: ip, port: port)
    }

    public var family: Int32 { ip.family }

    public var description: String {
        ip.isIPv4 || ip.isIPv4Mapped ? "\(ip):\(port)" : "[\(ip)]:\(port)"
    }

    /// Splits `host:port`, `[v6]:port` or `:port` exactly as Go's `net.SplitHostPort` does
    /// (same checks, same messages), then parses the port: 0 to 65535, empty meaning 0.
    public static func split(_ text: String) throws(AddressError) -> (host: String, port: UInt16) {
        func fail(_ problem: String, _ address: String = text) -> AddressError {
            AddressError(address: address, problem: problem)
        }
        let chars = Array(text)
        guard let colon = chars.lastIndex(of: ":") else { throw fail("missing port in address") }
        let host: String
        var (noOpenFrom, noCloseFrom) = (0, 0)  // where a stray '[' or ']' may not appear
        if chars.first == "[" {
            guard let end = chars.firstIndex(of: "]") else { throw fail("missing ']' in address") }
            if end + 1 == chars.count { throw fail("missing port in address") }
            if end + 1 != colon {
                throw fail(chars[end + 1] == ":" ? "too many colons in address" : "missing port in address")
            }
            host = String(chars[1..<end])
            (noOpenFrom, noCloseFrom) = (1, end + 1)
        } else {
            host = String(chars[..<colon])
            if host.contains(":") { throw fail("too many colons in address") }
        }
        if chars[noOpenFrom...].contains("[") { throw fail("unexpected '[' in address") }
        if chars[noCloseFrom...].contains("]") { throw fail("unexpected ']' in address") }
        let portText = String(chars[(colon + 1)...])
        if portText.isEmpty { return (host, 0) }  // Go's legacy rule: an empty port is port 0
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText) else {
            throw fail("invalid port", portText)
        }
        return (host, port)
    }

    // MARK: To and from the kernel's `struct sockaddr`

    /// Calls `body` with a `sockaddr_in` or `sockaddr_in6` built from this address.
    public func withSockAddr<Result>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> Result
    ) rethrows -> Result {
        if ip.isIPv4 {
            var address = Platform.emptyIPv4()
            address.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: ip.bytes) }
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        } else {
            var address = Platform.emptyIPv6()
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: ip.bytes) }
            return try withUnsafePointer(to: &address) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Reads back an address the kernel filled in (`accept`, `recvfrom`, `getsockname`).
    public init?(storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case Platform.ipv4:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            let bytes = withUnsafeBytes(of: address.sin_addr) { Array($0) }
            self.init(ip: IP(bytes: bytes)!, port: UInt16(bigEndian: address.sin_port))
        case Platform.ipv6:
            let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
            self.init(ip: IP(bytes: bytes)!, port: UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }

    /// Calls `fill` with an empty `sockaddr_storage` for the kernel to write into.
    static func receive<Failure: Error>(
        _ fill: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) throws(Failure) -> Void
    ) throws(Failure) -> Address? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        try withUnsafeMutablePointer(to: &storage) { pointer throws(Failure) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(Failure) in
                try fill(address, &length)
            }
        }
        return Address(storage: storage)
    }
}
