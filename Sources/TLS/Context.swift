import COpenSSL
import Sockets
import Synchronization

// A context (OpenSSL's SSL_CTX) holds what every connection of one side shares: the
// versions, groups and suites allowed, the server's certificate and key, the client's
// trusted roots. It is built once, checked once, and then used by many threads.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class TLSContext: @unchecked Sendable {  // SSL_CTX is safe to share once configured
    public enum Role: Sendable { case client, server }

    public let role: Role
    public let config: TLSConfig
    let pointer: OpaquePointer  // SSL_CTX *, freed once, in deinit
    /// A server's ALPN list, which OpenSSL's callback reads on every handshake; freed in deinit.
    private var alpnList: UnsafeMutableBufferPointer<UInt8>?

    /// Go: a `tls.Config` handed to `tls.Listen` or `tls.Dial`. Unlike Go, a server context
    /// without a certificate is an error here, not later at the first handshake.
    public init(_ role: Role, _ config: TLSConfig = TLSConfig()) throws(TLSError) {
        _ = openSSLStarted
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError("tls: SSL_CTX_new: \(OpenSSLError.takeReason() ?? "out of memory")")
        }
        pointer = context
        self.role = role
        self.config = config
        OpenSSLObjects.made()
        // From here on, a throw runs deinit, which frees the context.
        try configureProtocol()
        try configureALPN()
        if role == .server { try loadCertificate() } else { try loadTrust() }
    }

    deinit {
        SSL_CTX_free(pointer)
        alpnList?.deallocate()
        OpenSSLObjects.freed()
    }

    // ANCHOR: protocol
    /// Versions, groups and suites: what both sides of this module agree to speak.
    private func configureProtocol() throws(TLSError) {
        guard config.minVersion <= config.maxVersion else {
            throw TLSError("tls: minVersion \(config.minVersion) is above maxVersion \(config.maxVersion)")
        }
        try check(shim_SSL_CTX_set_min_proto_version(pointer, config.minVersion.rawValue), "minimum version")
        try check(shim_SSL_CTX_set_max_proto_version(pointer, config.maxVersion.rawValue), "maximum version")
        SSL_CTX_set_options(pointer, shim_SSL_OP_NO_RENEGOTIATION() | shim_SSL_OP_NO_COMPRESSION())
        let groups = config.groups.joined(separator: ":")
        try check(shim_SSL_CTX_set1_groups_list(pointer, groups), "groups \(groups)")
        // TLS 1.2 only: OpenSSL keeps TLS 1.3's suites in a separate list, which we leave as it is.
        let suites = config.cipherSuites12.joined(separator: ":")
        try check(SSL_CTX_set_cipher_list(pointer, suites), "TLS 1.2 cipher suites \(suites)")
    }
    // ANCHOR_END: protocol

    // ANCHOR: alpn
    /// ALPN (RFC 7301): the protocols in wire format, each a length byte and its name. A
    /// client sends the list in its hello; a server chooses, in OpenSSL's callback.
    private func configureALPN() throws(TLSError) {
        guard !config.nextProtos.isEmpty else { return }
        var wire: [UInt8] = []
        for name in config.nextProtos {
            guard (1...255).contains(name.utf8.count) else { throw TLSError("tls: bad ALPN protocol name \"\(name)\"") }
            wire += [UInt8(name.utf8.count)] + Array(name.utf8)
        }
        guard wire.count <= 0xFFFF else { throw TLSError("tls: the ALPN list is too long") }
        if role == .client {
            // The one setter that returns 0 on success.
            guard SSL_CTX_set_alpn_protos(pointer, wire, UInt32(wire.count)) == 0 else {
                throw TLSError("tls: ALPN: \(OpenSSLError.takeReason() ?? "failed")")
            }
        } else {
            let list = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: wire.count + 2)
            _ = list.initialize(from: [UInt8(wire.count >> 8), UInt8(wire.count & 0xFF)] + wire)
            alpnList = list
            shim_SSL_CTX_set_alpn_server(pointer, list.baseAddress)
        }
    }
    // ANCHOR_END: alpn

    // ANCHOR: certificate
    /// A server proves who it is with a certificate chain and the matching private key.
    private func loadCertificate() throws(TLSError) {
        guard let certificate = config.certificateFile, let key = config.keyFile else {
            // Go's tls.Listen says: "tls: neither Certificates, GetCertificate, nor GetConfigForClient set in Config".
            throw TLSError("tls: a server needs a certificate and its private key (certificateFile, keyFile)")
        }
        try checkReadable(certificate)
        try checkReadable(key)
        try check(SSL_CTX_use_certificate_chain_file(pointer, certificate), "load certificate from \(certificate)")
        guard SSL_CTX_use_PrivateKey_file(pointer, key, SSL_FILETYPE_PEM) == 1 else {
            let code = OpenSSLError.take()
            if let code, OpenSSLError.isKeyMismatch(code) {
                throw TLSError("tls: private key does not match public key")
            }
            throw TLSError("tls: load private key from \(key): \(code.map(OpenSSLError.reason) ?? "failed")")
        }
    }
    // ANCHOR_END: certificate

    // ANCHOR: trust
    /// A client checks the server's chain against these roots (and, per connection, the name).
    private func loadTrust() throws(TLSError) {
        SSL_CTX_set_verify(pointer, config.insecureSkipVerify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        if let file = config.caFile {
            try checkReadable(file)
            try check(SSL_CTX_load_verify_file(pointer, file), "load CA certificates from \(file)")
        } else {
            try check(SSL_CTX_set_default_verify_paths(pointer), "load the system's root certificates")
        }
    }
    // ANCHOR_END: trust

    /// OpenSSL's setters return 1 on success; anything else becomes an error naming the step.
    private func check(_ result: some BinaryInteger, _ step: String) throws(TLSError) {
        guard result == 1 else { throw TLSError("tls: \(step): \(OpenSSLError.takeReason() ?? "failed")") }
    }

    /// A missing file reads like Go's: `open /tmp/x.pem: no such file or directory`,
    /// not like OpenSSL's three stacked errors.
    private func checkReadable(_ path: String) throws(TLSError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        let code = errno  // before anything else can change it
        guard fd >= 0 else { throw TLSError("open \(path): \(SystemError.message(for: code))") }
        close(fd)
    }
}

/// OpenSSL starts itself on first use and, unless told otherwise, registers an `atexit`
/// handler that frees its global state. A lab stopped by SIGTERM calls `exit` from its
/// signal thread while others may be inside OpenSSL, and they would crash on the freed
/// state. So we start it first, without that handler: the kernel reclaims it all anyway.
private let openSSLStarted: Void = {
    OPENSSL_init_ssl(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
}()

/// How many OpenSSL objects this module holds right now: contexts, connections and peer
/// certificates, each counted when made and when freed. Tests read it to prove that
/// nothing leaks; the labs print it to show that every connection let go of its `SSL`.
public enum OpenSSLObjects {
    public static var alive: Int { liveObjects.load(ordering: .relaxed) }
    static func made() { liveObjects.add(1, ordering: .relaxed) }
    static func freed() { liveObjects.subtract(1, ordering: .relaxed) }
}

private let liveObjects = Atomic<Int>(0)
