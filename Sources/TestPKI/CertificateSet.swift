// The certificates the TLS tests and the grader both need: one CA to trust, one not to,
// and a server certificate for each way a certificate can be right or wrong. Made once
// per process, on first use, in a `TestPKI` directory deleted when the process exits.

public struct CertificateSet: Sendable {
    public let pki: TestPKI
    /// The authority a client is told to trust (`--ca`), and somebody else's.
    public let ca: Identity
    public let otherCA: Identity
    /// For localhost, 127.0.0.1 and ::1, signed by `ca`: a good server.
    public let localhost: Identity
    /// The same names with an RSA key: only RSA can offer RSA key exchange, so a server
    /// that refuses it is seen to refuse, not merely unable.
    public let localhostRSA: Identity
    /// A good certificate from `ca`, for another name: what an impostor would hold.
    public let elsewhere: Identity
    public let expired: Identity
    public let untrusted: Identity
    public let selfSigned: Identity
    /// `CN=localhost` and no subjectAltName: the name only where clients stopped looking.
    public let commonNameOnly: Identity

    public static let names = ["localhost", "127.0.0.1", "::1"]

    /// The set for this process, made on first use.
    public static func shared() throws -> CertificateSet { try made.get() }
    private static let made = Result { try CertificateSet() }

    private init() throws {
        pki = try TestPKI("guide-pki")
        ca = try pki.authority("Guide Test CA", file: "ca")
        otherCA = try pki.authority("Somebody Else's CA", file: "other-ca")
        localhost = try pki.server("localhost", names: Self.names, signedBy: ca)
        localhostRSA = try pki.server("localhost-rsa", names: Self.names, signedBy: ca, key: .rsa)
        elsewhere = try pki.server("elsewhere", names: ["elsewhere.test"], signedBy: ca)
        expired = try pki.server("expired", names: Self.names, signedBy: ca, expired: true)
        untrusted = try pki.server("untrusted", names: Self.names, signedBy: otherCA)
        selfSigned = try pki.server("self-signed", names: Self.names, signedBy: nil)
        commonNameOnly = try pki.server("cn-only", names: ["localhost"], signedBy: ca, commonNameOnly: true)
    }
}
