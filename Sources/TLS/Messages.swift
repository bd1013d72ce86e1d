// The handshake, message by message. OpenSSL calls a "message callback" for every
// protocol message it sends or receives (after decryption, so TLS 1.3's encrypted
// handshake shows too); we keep each message's name, so a lab can print the flights:
// TLS 1.3 needs one round trip before the client may send data, TLS 1.2 two.
import COpenSSL

/// One protocol message: `ClientHello`, `Certificate`, `Alert close_notify`…
public struct TLSMessage: Sendable, Equatable, CustomStringConvertible {
    /// True if this side sent it, false if it came from the peer.
    public let sent: Bool
    public let name: String

    public var description: String { (sent ? "→ " : "← ") + name }
}

enum MessageLog {
    /// Starts keeping `transport`'s messages for this connection.
    static func attach(to ssl: OpaquePointer) {
        SSL_set_msg_callback(ssl, callback)
    }

    private static let callback:
        @convention(c) (Int32, Int32, Int32, UnsafeRawPointer?, Int, OpaquePointer?, UnsafeMutableRawPointer?) -> Void =
            {
                writing, _, contentType, buffer, length, ssl, _ in
                guard let buffer, length > 0, let ssl, let bio = SSL_get_rbio(ssl), let transport = BIO_get_data(bio),
                    let name = name(
                        contentType, buffer.assumingMemoryBound(to: UInt8.self), length,
                        tls13: SSL_version(ssl) == TLS1_3_VERSION)
                else { return }
                Unmanaged<SocketTransport>.fromOpaque(transport).takeUnretainedValue()
                    .messages.append(TLSMessage(sent: writing == 1, name: name))
            }

    /// Handshake messages by their type byte (RFC 8446 4, RFC 5246 7.4), alerts by their
    /// description, a record of application data as `data`; the rest is skipped.
    private static func name(_ contentType: Int32, _ bytes: UnsafePointer<UInt8>, _ length: Int, tls13: Bool) -> String?
    {
        switch contentType {
        case SSL3_RT_INNER_CONTENT_TYPE where bytes[0] == SSL3_RT_APPLICATION_DATA:
            return "data"  // TLS 1.3: every record looks like data outside; this is the type inside
        case SSL3_RT_HEADER where bytes[0] == SSL3_RT_APPLICATION_DATA && !tls13:
            return "data"
        case SSL3_RT_HEADER where bytes[0] == SSL3_RT_CHANGE_CIPHER_SPEC:
            // Named from its record header: OpenSSL reports a received ChangeCipherSpec no other way.
            return "ChangeCipherSpec"
        case SSL3_RT_ALERT where length >= 2:
            return "Alert " + String(cString: SSL_alert_desc_string_long(Int32(bytes[1]))).lowercased()
        case SSL3_RT_HANDSHAKE:
            return handshakeNames[bytes[0]] ?? "handshake message \(bytes[0])"
        default:
            return nil
        }
    }

    /// Built once: the callback runs for every record of every connection (make bench's
    /// TLS server sends fourteen), and a table built per call cost an allocation each time.
    private static let handshakeNames: [UInt8: String] = [
        1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
        8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
        14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished",
        24: "KeyUpdate",
    ]
}
