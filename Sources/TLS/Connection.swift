// A TLS connection over a connected `Sockets.Connection`, with the same contract as the
// plain one: `read` returns what has arrived and 0 at the end (the peer's close_notify),
// `write` sends every byte, deadlines end waits with `i/o timeout`, `close` says goodbye
// with a close_notify alert. It owns one OpenSSL `SSL` (and through it the BIO), freed
// once, in deinit.
import COpenSSL
import Sockets
import Synchronization

public final class TLSConnection: @unchecked Sendable {  // every use of `ssl` holds `state`'s lock
    /// The TCP connection underneath.
    public let connection: Connection
    public let context: TLSContext
    /// A client's name for the server: checked against its certificate. nil on a server.
    public let host: String?
    private let ssl: OpaquePointer  // SSL *
    private let transport: SocketTransport
    private let state = Mutex(State())

    private struct State {
        var readDeadline: Deadline?
        var writeDeadline: Deadline?
        /// A fatal error happened: OpenSSL forbids a close_notify after one.
        var broken = false
        var closed = false
        var closedWithoutCloseNotify = false
        /// Called once, when the handshake ends or the connection closes: a listener's slot.
        var onHandshakeEnd: (@Sendable () -> Void)?
    }

    /// The server's side of an accepted connection. The handshake happens on first use.
    /// `onHandshakeEnd` runs once, when the handshake ends (either way) or the connection closes.
    public static func server(
        _ connection: Connection, _ context: TLSContext, onHandshakeEnd: (@Sendable () -> Void)? = nil
    ) throws(TLSError) -> TLSConnection {
        let tls = try TLSConnection(connection, context, host: nil)
        tls.state.withLock { $0.onHandshakeEnd = onHandshakeEnd }
        return tls
    }

    /// The client's side. `host` is the server's name or IP address: the certificate must
    /// be valid for it, and a name (not an address) is sent as SNI. Either way, the TLS
    /// connection owns `connection` from now on, and closes it.
    public static func client(_ connection: Connection, _ context: TLSContext, host: String) throws(TLSError)
        -> TLSConnection
    {
        try TLSConnection(connection, context, host: host)
    }

    private init(_ connection: Connection, _ context: TLSContext, host: String?) throws(TLSError) {
        guard let ssl = SSL_new(context.pointer) else {
            throw TLSError("tls: SSL_new: \(OpenSSLError.takeReason() ?? "out of memory")")
        }
        self.ssl = ssl
        self.connection = connection
        self.context = context
        self.host = host
        transport = SocketTransport(socket: connection.socket)
        OpenSSLObjects.made()
        // From here on, a throw runs deinit, which frees `ssl` (and the BIO with it).
        guard let bio = SocketBIO.make(for: transport) else { throw TLSError("tls: BIO_new: out of memory") }
        SSL_set_bio(ssl, bio, bio)  // the SSL owns the BIO now, for reading and writing
        MessageLog.attach(to: ssl)
        if context.role == .server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            try expect(host ?? "")
        }
    }

    // ANCHOR: host
    /// The name the certificate must match, and SNI. OpenSSL checks the name during the
    /// handshake, as part of verifying the chain.
    private func expect(_ host: String) throws(TLSError) {
        guard !host.isEmpty else { throw TLSError("tls: a client needs the server's name or address to verify") }
        if IP(host) != nil {
            // An address is checked against the certificate's IP entries, and never sent as SNI.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                throw TLSError("tls: bad IP address \(host)")
            }
        } else {
            // Names come from the subjectAltName extension only: without NEVER_CHECK_SUBJECT,
            // OpenSSL falls back to the subject's Common Name, which Go refuses since 1.15.
            let flags = X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT
            X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), UInt32(flags))
            guard SSL_set1_host(ssl, host) == 1, shim_SSL_set_tlsext_host_name(ssl, host) == 1 else {
                throw TLSError("tls: bad server name \(host)")
            }
        }
    }
    // ANCHOR_END: host

    deinit {
        close()
        SSL_free(ssl)  // frees the BIO too
        OpenSSLObjects.freed()
    }

    // MARK: Handshake, read, write, close

    /// Runs the handshake, unless it is done. It fails after `handshakeTimeout` (or at
    /// `deadline`, if that comes first) with `i/o timeout`.
    public func handshake(until deadline: Deadline? = nil) throws(NetError) {
        if isHandshakeComplete { return }
        defer { endHandshake() }
        // Zero means no limit, as for every timeout in Go.
        let timeout = context.config.handshakeTimeout
        let limit = timeout == .zero ? deadline : min(deadline ?? .after(timeout), .after(timeout))
        let result = try drive("handshake", until: limit) { ssl, _ in
            SSL_do_handshake(ssl)
        }
        if result == 0 { throw failure("handshake", .other("tls: the peer sent close_notify during the handshake")) }
    }

    private func endHandshake() {
        let action = state.withLock { state in
            defer { state.onHandshakeEnd = nil }
            return state.onHandshakeEnd
        }
        action?()
    }

    public var isHandshakeComplete: Bool { locked { SSL_is_init_finished(ssl) == 1 } }

    /// Deadlines for this connection's reads and writes (the TCP connection's own are not used).
    public func setReadDeadline(_ deadline: Deadline?) { state.withLock { $0.readDeadline = deadline } }
    public func setWriteDeadline(_ deadline: Deadline?) { state.withLock { $0.writeDeadline = deadline } }

    // ANCHOR: read
    /// Reads what has arrived (decrypted), up to `buffer.count` bytes. 0 means the end:
    /// the peer's close_notify, or (as Go and Python accept it) a TCP close between two
    /// records, which `closedWithoutCloseNotify` then reports. A close in the middle of a
    /// record is an error: the data was cut short.
    public func read(into buffer: inout [UInt8]) throws(NetError) -> Int {
        try handshake()
        let deadline = state.withLock { $0.readDeadline }
        return try buffer.withUnsafeMutableBytes { bytes in
            Result { () throws(NetError) in
                var count = 0
                let result = try drive("read", until: deadline) { ssl, _ in
                    SSL_read_ex(ssl, bytes.baseAddress, bytes.count, &count)
                }
                return result == 0 ? 0 : count
            }
        }.get()
    }
    // ANCHOR_END: read

    public func read(maxLength: Int = 16_384) throws(NetError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxLength)
        let count = try read(into: &buffer)
        return Array(buffer.prefix(count))
    }

    /// Reads until the peer's close_notify, and returns everything.
    public func readToEnd() throws(NetError) -> [UInt8] {
        var all: [UInt8] = []
        while case let chunk = try read(), !chunk.isEmpty { all += chunk }
        return all
    }

    // ANCHOR: write
    /// Encrypts and sends every byte. OpenSSL cuts them into records of at most 16 kB;
    /// when the kernel takes only part of a record, the rest waits in poll and goes later.
    /// A call of one byte is one record: 23 bytes on the wire with TLS 1.3's AES-GCM.
    public func write(_ bytes: [UInt8]) throws(NetError) {
        guard !bytes.isEmpty else { return }
        try handshake()
        let deadline = state.withLock { $0.writeDeadline }
        try bytes.withUnsafeBytes { all in
            Result { () throws(NetError) in
                var written = 0
                // Until it returns 1, OpenSSL must be called again with the same bytes.
                _ = try drive("write", until: deadline) { ssl, _ in
                    SSL_write_ex(ssl, all.baseAddress, all.count, &written)
                }
            }
        }.get()
    }
    // ANCHOR_END: write

    public func write(_ text: String) throws(NetError) { try write(Array(text.utf8)) }

    // ANCHOR: close
    /// Sends close_notify (if the handshake finished and nothing fatal happened), then
    /// closes the socket. We do not wait for the peer's close_notify: TLS allows that,
    /// and it keeps close from blocking. Safe to call more than once.
    public func close() {
        guard sendCloseNotify() else { return }
        connection.close()
    }

    /// False if the connection was already closed.
    private func sendCloseNotify() -> Bool {
        let (first, broken) = state.withLock { state in
            defer { state.closed = true }
            return (!state.closed, state.broken)
        }
        guard first else { return false }
        defer { endHandshake() }
        if !broken {
            _ = try? drive("close", until: .after(.seconds(1))) { ssl, _ in
                guard SSL_is_init_finished(ssl) == 1 else { return 1 }
                let sent = SSL_shutdown(ssl)  // 0: ours is sent (theirs not awaited): done
                return sent == 0 ? 1 : sent  // < 0: wait to write, or a real error
            }
        }
        return true
    }
    // ANCHOR_END: close

    // ANCHOR: close-gracefully
    /// A server's close: close_notify, then TCP's graceful close (`Connection.closeGracefully`):
    /// FIN, then the client's last bytes read and thrown away, so that a client that wrote
    /// something we never read (`echo hi | openssl s_client`) gets no reset, and loses nothing.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func closeGracefully(lingering time: Duration = .seconds(2), discarding bytes: Int = 65_536) {
        guard sendCloseNotify() else { return }
        connection.closeGracefully(lingering: time, discarding: bytes)
    }
    // ANCHOR_END: close-gracefully

    // MARK: What was agreed

    /// `TLSv1.3` or `TLSv1.2`.
    public var version: String { locked { String(cString: SSL_get_version(ssl)) } }

    /// The suite in its standard (IANA) name, as Go prints it: `TLS_AES_128_GCM_SHA256`,
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`.
    public var cipherSuite: String {
        locked { SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_standard_name($0)) } ?? "" }
    }

    /// The key-exchange group: `X25519`, `P-256`. nil: none (TLS 1.2's RSA key exchange).
    public var group: String? {
        locked {
            let nid = Int32(shim_SSL_get_negotiated_group(ssl))
            guard nid > 0 else { return nil }
            return (EC_curve_nid2nist(nid) ?? OBJ_nid2sn(nid)).map { String(cString: $0) }
        }
    }

    /// The application protocol ALPN agreed on (`http/1.1`), or nil when there was none.
    public var negotiatedProtocol: String? {
        locked {
            var data: UnsafePointer<UInt8>?
            var length: UInt32 = 0
            SSL_get0_alpn_selected(ssl, &data, &length)
            guard let data, length > 0 else { return nil }
            return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
        }
    }

    /// The certificate the peer presented (a server's; clients here send none).
    public var peerCertificate: Certificate? {
        locked { SSL_get1_peer_certificate(ssl).map { Certificate(owning: $0) } }
    }

    /// On a server: the name the client asked for (SNI), if it sent one.
    public var requestedServerName: String? {
        locked { SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name).map { String(cString: $0) } }
    }

    /// On a client with `insecureSkipVerify`: what verification would have said, had it
    /// been on. nil: the certificate would have passed.
    public var skippedVerificationFailure: String? {
        let result = locked { SSL_get_verify_result(ssl) }
        guard result != X509_V_OK else { return nil }
        return Explain.verification(result, names: peerCertificate?.names ?? [], host: host ?? "")
    }

    /// True once a read ended because the peer closed TCP without close_notify: the data
    /// that came is authentic, but an attacker could have cut off what came after it.
    public var closedWithoutCloseNotify: Bool { state.withLock { $0.closedWithoutCloseNotify } }

    /// Every handshake message and alert so far, sent (→) and received (←), in order.
    public var messages: [TLSMessage] { locked { transport.messages } }

    /// TLS bytes on the wire so far (headers, encryption overhead, handshake and all).
    public var bytesSent: Int { locked { transport.bytesSent } }
    public var bytesReceived: Int { locked { transport.bytesReceived } }

    // MARK: Driving OpenSSL

    private func locked<T>(_ body: () -> T) -> T {
        state.withLock { _ in body() }
    }

    // ANCHOR: drive
    /// Calls OpenSSL until it finishes. When it wants the socket readable or writable,
    /// sleep in poll until it is, or until the deadline. Returns the call's result, or 0
    /// once the peer has sent close_notify.
    private func drive(
        _ op: String, until deadline: Deadline?,
        _ call: (OpaquePointer, SocketTransport) -> Int32
    ) throws(NetError) -> Int32 {
        while true {
            let outcome = state.withLock { state -> Outcome in
                ERR_clear_error()
                transport.failure = nil
                let result = call(ssl, transport)
                if result > 0 { return .done(result) }
                switch SSL_get_error(ssl, result) {
                case SSL_ERROR_WANT_READ: return .wait(.readable)
                case SSL_ERROR_WANT_WRITE: return .wait(.writable)
                case SSL_ERROR_ZERO_RETURN: return .done(0)
                case _ where op == "read" && transport.atEOF && transport.atRecordBoundary:
                    OpenSSLError.take()
                    state.broken = true  // OpenSSL counts it as fatal: no close_notify after it
                    state.closedWithoutCloseNotify = true
                    return .done(0)
                case let code:
                    state.broken = true
                    return .failed(reason(code, op))
                }
            }
            switch outcome {
            case .done(let result): return result
            case .failed(let reason): throw failure(op, reason)
            case .wait(let readiness):
                guard connection.socket.descriptor >= 0 else {
                    throw failure(op, .other("use of closed network connection"))
                }
                let ready: Bool
                do { ready = try connection.socket.wait(for: readiness, until: deadline) } catch {
                    throw failure(op, .system(error))
                }
                if !ready {
                    // A write cut short leaves half a record sent: like Go, nothing more may follow.
                    if op == "write" { state.withLock { $0.broken = true } }
                    throw failure(op, .timeout)
                }
            }
        }
    }
    // ANCHOR_END: drive

    private enum Outcome {
        case done(Int32)
        case wait(Readiness)
        case failed(NetError.Reason)
    }

    // ANCHOR: reason
    /// Why OpenSSL failed, from (in order) the system call our BIO saw fail, the error
    /// queue, and the certificate check. Called with the lock held, right after the call.
    private func reason(_ code: Int32, _ op: String) -> NetError.Reason {
        let queued = OpenSSLError.take()
        if let failure = transport.failure { return .system(failure) }
        guard let queued else { return .other(code == SSL_ERROR_SYSCALL ? "unexpected EOF" : "tls: SSL error \(code)") }
        if OpenSSLError.isVerificationFailure(queued) {
            let names = SSL_get_peer_cert_chain(ssl).flatMap { chain in
                shim_sk_X509_num(chain) > 0 ? shim_sk_X509_value(chain, 0) : nil
            }.map { Certificate(borrowing: $0).names }
            let why = Explain.verification(SSL_get_verify_result(ssl), names: names ?? [], host: host ?? "")
            return .other("tls: failed to verify certificate: \(why)")
        }
        if let alert = OpenSSLError.alert(in: queued) { return .other(Explain.remoteAlert(alert)) }
        if OpenSSLError.isUnexpectedEOF(queued) {
            return .other(
                op == "handshake"
                    ? "tls: the peer closed the connection during the handshake"
                    : "tls: unexpected EOF (the connection closed inside a record)")
        }
        return .other("tls: \(OpenSSLError.reason(queued))")
    }
    // ANCHOR_END: reason

    private func failure(_ op: String, _ reason: NetError.Reason) -> NetError {
        NetError(
            op: op, network: connection.network, local: connection.localAddress,
            remote: connection.remoteAddress?.description, reason: reason)
    }
}

/// A `BufferedReader` reads TLS as it reads TCP: `BufferedReader(tlsConnection)`.
extension TLSConnection: ByteReader {
    public func readFailure(_ reason: String) -> NetError { failure("read", .other(reason)) }
}
