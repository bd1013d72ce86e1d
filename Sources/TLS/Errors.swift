// OpenSSL reports a failure in three places: a per-thread queue of error codes
// (ERR_get_error), the certificate check's result (SSL_get_verify_result), and, when
// the peer gave up, the alert it sent. This file turns each into one line in Go's words:
//   tls: failed to verify certificate: x509: certificate signed by unknown authority
//   remote error: tls: bad certificate
import COpenSSL

/// A TLS failure outside any connection: a file that does not load, a configuration that
/// cannot work. One line: `tls: private key does not match public key`.
/// (Failures on a connection are `NetError`s, like every other network failure.)
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

enum OpenSSLError {
    /// Takes every error out of this thread's queue (so none is blamed on a later call)
    /// and returns the first, the one closest to the cause. nil: the queue was empty.
    @discardableResult
    static func take() -> UInt? {
        let first = ERR_get_error()
        ERR_clear_error()
        return first == 0 ? nil : first
    }

    /// The first queued error in OpenSSL's words (`no shared cipher`), the queue emptied.
    static func takeReason() -> String? { take().map(reason) }

    static func reason(_ code: UInt) -> String {
        if let text = ERR_reason_error_string(code) { return String(cString: text) }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)  // `error:0A000102:SSL routines::...`
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A queued error that says the peer sent us an alert: which alert.
    static func alert(in code: UInt) -> Int32? {
        let reason = ERR_GET_REASON(code)
        guard ERR_GET_LIB(code) == ERR_LIB_SSL, reason > SSL_AD_REASON_OFFSET, reason < SSL_AD_REASON_OFFSET + 256
        else {
            return nil
        }
        return reason - SSL_AD_REASON_OFFSET
    }

    static func isVerificationFailure(_ code: UInt) -> Bool {
        ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED
    }

    /// The key file holds a key, but not the one the certificate was made for.
    static func isKeyMismatch(_ code: UInt) -> Bool {
        ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH
    }

    static func isUnexpectedEOF(_ code: UInt) -> Bool {
        ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING
    }
}

enum Explain {
    // ANCHOR: alerts
    /// An alert the peer sent, the way Go prints it: `remote error: tls: bad certificate`.
    static func remoteAlert(_ alert: Int32) -> String {
        let goWords: [Int32: String] = [
            10: "unexpected message", 20: "bad record MAC", 40: "handshake failure", 42: "bad certificate",
            43: "unsupported certificate", 44: "revoked certificate", 45: "expired certificate",
            46: "unknown certificate", 47: "illegal parameter", 48: "unknown certificate authority",
            50: "error decoding message", 51: "error decrypting message", 70: "protocol version not supported",
            71: "insufficient security level", 80: "internal error", 112: "unrecognized name",
        ]
        let words = goWords[alert] ?? String(cString: SSL_alert_desc_string_long(alert)).lowercased()
        return "remote error: tls: \(words)"
    }
    // ANCHOR_END: alerts

    // ANCHOR: verification
    /// Why the server's certificate is refused, in Go's words, then OpenSSL's own
    /// (`X509_verify_cert_error_string`) in brackets. `names` are the certificate's
    /// subjectAltNames and `host` the name we wanted, for a mismatch.
    static func verification(_ result: Int, names: [String], host: String) -> String {
        let go: String
        switch Int32(result) {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            go =
                names.isEmpty
                ? "certificate is not valid for any names, but wanted to match \(host)"
                : "certificate is valid for \(names.joined(separator: ", ")), not \(host)"
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            go = "certificate signed by unknown authority"
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            go = "certificate has expired or is not yet valid"
        default:
            go = "certificate is not trusted"
        }
        let openSSL = String(cString: X509_verify_cert_error_string(result))
        return "x509: \(go) [OpenSSL: \(openSSL)]"
    }
    // ANCHOR_END: verification
}
