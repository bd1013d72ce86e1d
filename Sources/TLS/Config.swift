// What a TLS endpoint is allowed to do, in the spirit of Go's `tls.Config`: the zero
// value is the safe one. TLS 1.2 at least, 1.3 preferred, key exchange on X25519 or
// P-256, and for TLS 1.2 only suites that are forward secret (ECDHE) and authenticated
// encryption (GCM, ChaCha20-Poly1305). A client verifies the chain and the host name.

/// A protocol version. There is no case for TLS 1.0 or 1.1: this module cannot speak them.
public enum TLSVersion: Int32, Sendable, Comparable, CustomStringConvertible {
    case tls12 = 0x0303  // TLS1_2_VERSION
    case tls13 = 0x0304  // TLS1_3_VERSION

    public var description: String { self == .tls12 ? "TLS 1.2" : "TLS 1.3" }
    public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a.rawValue < b.rawValue }
}

public struct TLSConfig: Sendable {
    public var minVersion = TLSVersion.tls12
    public var maxVersion = TLSVersion.tls13

    /// Key-exchange groups, most preferred first (Go's `CurvePreferences`).
    public var groups = ["X25519", "P-256"]

    /// TLS 1.2 suites, in OpenSSL's names. Every one: ECDHE (a fresh key per connection,
    /// so a stolen certificate key cannot decrypt recorded traffic) and AEAD (no CBC).
    /// TLS 1.3 suites are not listed: all five are AEAD with ephemeral keys, and, as in
    /// Go, we leave them alone.
    public var cipherSuites12 = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ]

    /// Application protocols for ALPN, most preferred first (Go's `NextProtos`): a client
    /// offers them, a server picks the first of its own that the client offered, and refuses
    /// a client that offers only others. Empty: no ALPN. HTTP/1.1 is `http/1.1`.
    public var nextProtos: [String] = []

    /// A server's certificate chain and private key, PEM files (Go's `Certificates`).
    public var certificateFile: String?
    public var keyFile: String?

    /// A client trusts the certificate authorities in this PEM file; nil: the system's roots.
    public var caFile: String?

    /// A client checks the certificate against this name (and sends it as SNI, unless it
    /// is an IP address). nil: the host part of the address dialed.
    public var serverName: String?

    /// A client accepts ANY certificate: expired, self-signed, or made for another name
    /// by whoever sits between us and the server. Go's `InsecureSkipVerify`. For tests
    /// against a server whose certificate you checked some other way; never in production.
    public var insecureSkipVerify = false

    /// A handshake that has not finished after this long fails with `i/o timeout`, so a
    /// client that connects and says nothing cannot hold a server's thread forever.
    /// Zero means no limit.
    public var handshakeTimeout: Duration = .seconds(10)

    public init() {}
}
