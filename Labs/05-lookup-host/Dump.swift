// A DNS message shown field by field: the offset, the bytes in hex, what they mean.
// It walks the message with the module's bounds-checked `WireReader`, so even a broken
// message prints what can be read and then says where it stops making sense.
import DNS
import Sockets

/// One line per field, at most 8 bytes of hex per line.
func annotate(_ message: [UInt8]) -> [String] {
    var annotator = Annotator(reader: WireReader(message))
    do { try annotator.message() } catch {
        annotator.lines.append("      (cannot read further: \(error))")
    }
    return annotator.lines
}

private struct Annotator {
    var reader: WireReader
    var lines: [String] = []

    /// The bytes from `start` up to the reader's offset, explained by `meaning`.
    mutating func field(from start: Int, _ meaning: String) {
        let bytes = Array(reader.message[start..<reader.offset])
        for chunk in stride(from: 0, to: max(bytes.count, 1), by: 8) {
            let hex = bytes[chunk..<min(chunk + 8, bytes.count)].map(hexByte).joined(separator: " ")
            let offset = String(start + chunk)
            let line =
                String(repeating: " ", count: max(0, 5 - offset.count)) + offset + "  "
                + hex + String(repeating: " ", count: max(0, 24 - hex.count)) + "  " + (chunk == 0 ? meaning : "")
            lines.append(String(line.reversed().drop(while: { $0 == " " }).reversed()))
        }
    }

    /// Reads one field with `read` and explains it with `meaning` of what was read.
    mutating func field<T>(_ read: (inout WireReader) throws -> T, _ meaning: (T) -> String) throws -> T {
        let start = reader.offset
        let value = try read(&reader)
        field(from: start, meaning(value))
        return value
    }

    mutating func message() throws {
        let id = try field({ try $0.uint16() }) { "ID \($0): the reply must echo it" }
        let flags = try field({ try $0.uint16() }) { flagText(DNSHeader(id: id, flags: $0)) }
        _ = flags
        var counts: [Int] = []
        for (count, section) in [
            ("QDCOUNT", "questions"), ("ANCOUNT", "answers"), ("NSCOUNT", "authority records"),
            ("ARCOUNT", "additional records"),
        ] {
            counts.append(Int(try field({ try $0.uint16() }) { "\(count) \($0): \(section)" }))
        }
        for _ in 0..<counts[0] {
            try name()
            _ = try field({ try $0.uint16() }) { "QTYPE \(DNSType(rawValue: $0))" }
            _ = try field({ try $0.uint16() }) { "QCLASS \(classText($0))" }
        }
        for _ in 0..<(counts[1] + counts[2] + counts[3]) { try record() }
    }

    /// A name's labels one by one, up to the root label or to a compression pointer.
    mutating func name() throws {
        var whole = WireReader(reader.message, at: reader.offset)
        let full = try whole.name()  // read (and check) the whole name first
        while true {
            let start = reader.offset
            let length = try reader.uint8()
            if length == 0 {
                return field(from: start, "root label (length 0): end of \(full)")
            }
            if length >= 0xC0 {
                let target = Int(length & 0x3F) << 8 | Int(try reader.uint8())
                var rest = WireReader(reader.message, at: target)
                return field(from: start, "pointer to offset \(target): \(try rest.name())")
            }
            let label = try reader.take(Int(length))
            field(from: start, "label \"\(String(decoding: label, as: UTF8.self))\" (length \(length))")
        }
    }

    mutating func record() throws {
        try name()
        let type = try field({ DNSType(rawValue: try $0.uint16()) }) { "TYPE \($0)" }
        _ = try field({ try $0.uint16() }) { "CLASS \(classText($0))" }
        _ = try field({ try $0.uint32() }) { "TTL \($0) seconds: how long a cache may keep it" }
        let length = try field({ Int(try $0.uint16()) }) { "RDLENGTH \($0): the data's size" }
        switch type {
        case .a, .aaaa:
            _ = try field({ IP(bytes: try $0.take(length)) }) { "\(type) \($0.map(\.description) ?? "?")" }
        case .cname:
            try name()
        default:
            _ = try field({ try $0.take(length) }) { _ in "data" }
        }
    }
}

private func flagText(_ header: DNSHeader) -> String {
    func bit(_ name: String, _ on: Bool, _ meaning: String) -> String {
        "\(name)=\(on ? 1 : 0)" + (on ? " \(meaning)" : "")
    }
    let parts: [String?] = [
        header.isResponse ? "QR=1 response" : "QR=0 query",
        header.opcode == 0 ? nil : "opcode \(header.opcode)",
        header.isResponse ? bit("AA", header.authoritative, "authoritative") : nil,
        header.truncated ? "TC=1 truncated" : nil,
        bit("RD", header.recursionDesired, "recursion desired"),
        header.isResponse ? bit("RA", header.recursionAvailable, "recursion available") : nil,
        header.isResponse ? "RCODE \(header.rcode.rawValue) \(header.rcode)" : nil,
    ]
    return "flags: " + parts.compactMap { $0 }.joined(separator: ", ")
}

private func classText(_ value: UInt16) -> String { value == dnsClassInternet ? "IN" : "CLASS\(value)" }

private func hexByte(_ byte: UInt8) -> String { (byte < 0x10 ? "0" : "") + String(byte, radix: 16) }
