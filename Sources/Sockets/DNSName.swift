// Domain names the way DNS carries them (RFC 1035 §3.1): a list of labels, each 1 to 63
// bytes, ended by the empty root label; 255 bytes at most on the wire. On the wire each
// label is its length byte and its bytes, so `hello.test` is 05 h e l l o 04 t e s t 00.

/// A domain name: its labels, without the empty root label at the end.
/// Names compare without regard to ASCII case, as DNS compares them (`Hello.TEST` is `hello.test`).
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    public let labels: [[UInt8]]

    /// Bytes on the wire, uncompressed: a length byte per label, the label, and the root's 0.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    static let maxLabel = 63
    public static let maxWireLength = 255

    /// Labels read from a message; the reader has already checked their sizes.
    public init(checkedLabels: [[UInt8]]) { labels = checkedLabels }

    /// Parses a name as a person writes it (`www.example.com`, a trailing dot optional),
    /// with the rules Go's resolver applies before it asks DNS anything: letters, digits,
    /// `-` and `_` only; no empty label; no label longer than 63 bytes or starting or ending
    /// with `-`; at most 253 characters (254 with the trailing dot); not digits only
    /// (`1.2.3` is neither an IP nor a host name). nil: not a name worth asking about.
    public init?(_ text: String) {
        if text == "." { labels = []; return }
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 || (bytes.count == 254 && bytes.last == UInt8(ascii: ".")) else {
            return nil
        }
        let parts = (bytes.last == UInt8(ascii: ".") ? bytes.dropLast() : bytes[...])
            .split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        var sawLetter = false
        for part in parts {
            guard (1...DNSName.maxLabel).contains(part.count),
                part.first != UInt8(ascii: "-"), part.last != UInt8(ascii: "-")
            else { return nil }
            for byte in part {
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): break
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "-"), UInt8(ascii: "_"):
                    sawLetter = true
                default: return nil
                }
            }
        }
        guard sawLetter else { return nil }
        labels = parts.map(Array.init)
    }

    /// The name for people: labels joined by dots, no trailing dot (the root is `.`).
    /// A byte that is not printable, or a dot inside a label, is escaped as `\DDD` or `\.`
    /// (RFC 1035's master-file form), so a hostile name cannot put control bytes on a terminal.
    public var description: String {
        guard !labels.isEmpty else { return "." }
        return labels.map { label in
            label.map { byte -> String in
                switch byte {
                case UInt8(ascii: "."), UInt8(ascii: "\\"): return "\\" + String(UnicodeScalar(byte))
                case 0x21...0x7E: return String(UnicodeScalar(byte))
                default: return "\\" + String(byte).leftPadded(to: 3)
                }
            }.joined()
        }.joined(separator: ".")
    }

    /// The labels in lower case: what equality and hashing use.
    public var folded: [[UInt8]] {
        labels.map { $0.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 } }
    }

    public static func == (a: DNSName, b: DNSName) -> Bool { a.folded == b.folded }
    public func hash(into hasher: inout Hasher) { hasher.combine(folded) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
