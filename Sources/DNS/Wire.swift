// Reading and writing DNS messages byte by byte. Everything a reply says is untrusted:
// every read is bounds-checked and throws instead of trapping, and a compression pointer
// must point to an earlier part of the message than the one being read, so no reply can
// send the reader round in a loop.

import Sockets

/// A reply that cannot be read: where, and why. Prints as `offset 40: pointer to 40 does not point backwards`.
public struct DNSFormatError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let problem: String

    public var description: String { "offset \(offset): \(problem)" }
}

/// A cursor over a whole message (compression pointers count from its first byte).
public struct WireReader: Sendable {
    public let message: [UInt8]
    public private(set) var offset: Int

    public init(_ message: [UInt8], at offset: Int = 0) {
        self.message = message
        self.offset = offset
    }

    public var remaining: Int { max(0, message.count - offset) }

    func fail(_ problem: String, at offset: Int? = nil) -> DNSFormatError {
        DNSFormatError(offset: offset ?? self.offset, problem: problem)
    }

    /// `count` bytes from `start`, or an error if the message ends first.
    func bytes(at start: Int, count: Int) throws(DNSFormatError) -> ArraySlice<UInt8> {
        guard start >= 0, count >= 0, start <= message.count, count <= message.count - start else {
            throw fail("message ends at byte \(message.count), \(count) more bytes needed", at: start)
        }
        return message[start..<start + count]
    }

    public mutating func take(_ count: Int) throws(DNSFormatError) -> [UInt8] {
        let slice = try bytes(at: offset, count: count)
        offset += count
        return Array(slice)
    }

    public mutating func uint8() throws(DNSFormatError) -> UInt8 { try take(1)[0] }

    /// Two bytes, most significant first (network byte order).
    public mutating func uint16() throws(DNSFormatError) -> UInt16 {
        try take(2).reduce(0) { $0 << 8 | UInt16($1) }
    }

    public mutating func uint32() throws(DNSFormatError) -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    // ANCHOR: read-name
    /// A name, following compression pointers (RFC 1035 §4.1.4). The cursor moves past the
    /// name's own bytes: up to its root label, or up to its first pointer. Each pointer must
    /// point before the stretch of labels it ends, so every jump goes strictly backwards
    /// and a pointer loop is an error, not a hang. 255 bytes at most, as RFC 1035 says, and
    /// at most 10 pointers, as Go allows: a long chain of pointers would cost every record
    /// that uses it a walk down the chain, and one reply could hold thousands of them.
    public mutating func name() throws(DNSFormatError) -> DNSName {
        var labels: [[UInt8]] = []
        var length = 1  // the root label's byte
        var position = offset  // where the next length byte is
        var stretchStart = offset  // where the labels being read began
        var end: Int?  // where the cursor goes: after the first pointer, or the root
        var pointers = 0
        while true {
            let byte = try bytes(at: position, count: 1).first ?? 0
            switch byte >> 6 {
            case 0b00 where byte == 0:
                offset = end ?? position + 1
                return DNSName(checkedLabels: labels)
            case 0b00:
                let label = try bytes(at: position + 1, count: Int(byte))
                length += 1 + label.count
                guard length <= DNSName.maxWireLength else { throw fail("name longer than 255 bytes", at: position) }
                labels.append(Array(label))
                position += 1 + label.count
            case 0b11:
                let low = try bytes(at: position + 1, count: 1).first ?? 0
                let target = Int(byte & 0x3F) << 8 | Int(low)
                guard target < stretchStart else {
                    throw fail("pointer to \(target) does not point back before \(stretchStart)", at: position)
                }
                pointers += 1
                guard pointers <= 10 else { throw fail("more than 10 compression pointers in one name", at: position) }
                if end == nil { end = position + 2 }
                (position, stretchStart) = (target, target)
            default:
                throw fail("label type 0x\(String(byte & 0xC0, radix: 16)) is not defined", at: position)
            }
        }
    }
    // ANCHOR_END: read-name
}

/// Builds a message. Names are compressed: a name, or its tail, that was already written
/// becomes a two-byte pointer to where it was written (`C0 0C`: offset 12, the question).
public struct WireWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var written: [[[UInt8]]: Int] = [:]  // a name's tail, folded to lower case → its offset
    private let compress: Bool

    public init(compress: Bool = true) { self.compress = compress }

    public mutating func uint8(_ value: UInt8) { bytes.append(value) }
    public mutating func uint16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    public mutating func uint32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
    public mutating func append(_ more: [UInt8]) { bytes += more }

    /// Overwrites two bytes already written (a length known only afterwards).
    mutating func patch(_ value: UInt16, at offset: Int) {
        bytes[offset] = UInt8(value >> 8)
        bytes[offset + 1] = UInt8(value & 0xFF)
    }

    // ANCHOR: write-name
    public mutating func name(_ name: DNSName) {
        let folded = name.folded
        for index in folded.indices {
            let tail = Array(folded[index...])
            if compress, let offset = written[tail] {
                uint16(0xC000 | UInt16(offset))  // the top two bits set: a pointer
                return
            }
            if compress, bytes.count < 0x3FFF { written[tail] = bytes.count }
            uint8(UInt8(name.labels[index].count))
            append(name.labels[index])
        }
        uint8(0)  // the root label
    }
    // ANCHOR_END: write-name
}
