// A certificate the peer sent: who it names (subject), who signed it (issuer), and the
// host names and addresses it is valid for (its subjectAltName extension).
import COpenSSL
import Sockets

public final class Certificate: @unchecked Sendable {  // read-only after init
    private let pointer: OpaquePointer  // X509 *, one reference of our own, freed in deinit

    /// Takes a reference OpenSSL handed us (`SSL_get1_peer_certificate`).
    init(owning pointer: OpaquePointer) {
        self.pointer = pointer
        OpenSSLObjects.made()
    }

    /// Adds a reference of our own to a certificate OpenSSL keeps (one in a chain).
    convenience init(borrowing pointer: OpaquePointer) {
        X509_up_ref(pointer)
        self.init(owning: pointer)
    }

    deinit {
        X509_free(pointer)
        OpenSSLObjects.freed()
    }

    /// `CN=localhost,O=Example`, the way Go's `pkix.Name` prints.
    public var subject: String { Certificate.text(of: X509_get_subject_name(pointer)) }
    public var issuer: String { Certificate.text(of: X509_get_issuer_name(pointer)) }

    /// The DNS names and IP addresses in subjectAltName, in the certificate's order.
    /// (Host names are checked against these; the subject's CN is not used.)
    public var names: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil) else { return [] }
        let list = OpaquePointer(raw)  // GENERAL_NAMES *
        defer { GENERAL_NAMES_free(list) }
        return (0..<shim_sk_GENERAL_NAME_num(list)).compactMap { index in
            guard let name = shim_sk_GENERAL_NAME_value(list, index)?.pointee else { return nil }
            switch name.type {
            case GEN_DNS: return Certificate.bytes(of: name.d.dNSName).map(Certificate.printable)
            case GEN_IPADD: return Certificate.bytes(of: name.d.iPAddress).flatMap { IP(bytes: $0)?.description }
            default: return nil
            }
        }
    }

    /// A name from the network, safe to put in a one-line error: bytes that are not
    /// printable ASCII are written `\xNN` (a certificate could hold a newline).
    private static func printable(_ bytes: [UInt8]) -> String {
        bytes.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
    }

    private static func bytes(of string: UnsafeMutablePointer<ASN1_STRING>?) -> [UInt8]? {
        guard let string, let data = ASN1_STRING_get0_data(string) else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: Int(ASN1_STRING_length(string))))
    }

    /// An X509_NAME as RFC 2253 text, printed by OpenSSL into a memory BIO.
    private static func text(of name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        X509_NAME_print_ex(bio, name, 0, shim_XN_FLAG_RFC2253())
        var data: UnsafeMutablePointer<CChar>?
        let length = shim_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}
