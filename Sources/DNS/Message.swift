// A DNS message (RFC 1035 §4.1): a 12-byte header, then the questions, then three lists
// of resource records: answers, authority, additional. A query and its reply have the
// same shape; the reply echoes the query's ID and question and adds the records.

import Sockets

/// A record type: `A` (an IPv4 address), `AAAA` (IPv6), `CNAME` (another name for this one)…
public struct DNSType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSType(rawValue: 1)
    public static let ns = DNSType(rawValue: 2)
    public static let cname = DNSType(rawValue: 5)
    public static let soa = DNSType(rawValue: 6)
    public static let ptr = DNSType(rawValue: 12)
    public static let mx = DNSType(rawValue: 15)
    public static let txt = DNSType(rawValue: 16)
    public static let aaaa = DNSType(rawValue: 28)

    public var description: String {
        let names: [UInt16: String] = [
            1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
        ]
        return names[rawValue] ?? "TYPE\(rawValue)"
    }
}

/// The header's four-bit response code.
public struct DNSRCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let noError = DNSRCode(rawValue: 0)
    public static let formatError = DNSRCode(rawValue: 1)
    public static let serverFailure = DNSRCode(rawValue: 2)  // SERVFAIL: the server could not answer
    public static let nameError = DNSRCode(rawValue: 3)  // NXDOMAIN: the name does not exist
    public static let notImplemented = DNSRCode(rawValue: 4)
    public static let refused = DNSRCode(rawValue: 5)

    public var description: String {
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"].dropFirst(Int(rawValue)).first
            ?? "RCODE\(rawValue)"
    }
}

/// Class IN (the Internet): the only one anyone uses.
public let dnsClassInternet: UInt16 = 1

// ANCHOR: header
/// The 12-byte header: an ID, sixteen bits of flags, and four counts (written by `encoded()`).
public struct DNSHeader: Sendable, Equatable {
    public var id: UInt16
    public var isResponse = false  // QR: 0 query, 1 response
    public var opcode: UInt8 = 0  // 0: a standard query
    public var authoritative = false  // AA: the answer comes from the zone's own server
    public var truncated = false  // TC: did not fit in a UDP datagram; ask again over TCP
    public var recursionDesired = false  // RD: "please resolve this for me, all the way"
    public var recursionAvailable = false  // RA: "I do resolve for clients"
    public var rcode = DNSRCode.noError

    public init(id: UInt16) { self.id = id }

    /// The flags as the wire has them: QR | Opcode(4) | AA | TC | RD | RA | Z(3) | RCODE(4).
    public var flags: UInt16 {
        var bits = UInt16(opcode & 0x0F) << 11 | UInt16(rcode.rawValue)
        if isResponse { bits |= 1 << 15 }
        if authoritative { bits |= 1 << 10 }
        if truncated { bits |= 1 << 9 }
        if recursionDesired { bits |= 1 << 8 }
        if recursionAvailable { bits |= 1 << 7 }
        return bits
    }

    public init(id: UInt16, flags: UInt16) {
        self.id = id
        isResponse = flags & 1 << 15 != 0
        opcode = UInt8(flags >> 11 & 0x0F)
        authoritative = flags & 1 << 10 != 0
        truncated = flags & 1 << 9 != 0
        recursionDesired = flags & 1 << 8 != 0
        recursionAvailable = flags & 1 << 7 != 0
        rcode = DNSRCode(rawValue: UInt8(flags & 0x0F))
    }
}
// ANCHOR_END: header

/// What is asked: a name, a type, a class.
public struct DNSQuestion: Sendable, Equatable {
    public var name: DNSName
    public var type: DNSType
    public var dnsClass: UInt16

    public init(_ name: DNSName, _ type: DNSType, dnsClass: UInt16 = dnsClassInternet) {
        self.name = name
        self.type = type
        self.dnsClass = dnsClass
    }
}

/// One resource record: who it is about, its type, how long it may be cached, its data.
public struct DNSRecord: Sendable, Equatable {
    public enum Data: Sendable, Equatable {
        case address(IP)  // A, AAAA
        case name(DNSName)  // CNAME, NS, PTR: compressed names, read back in full
        case raw([UInt8])  // any other type, kept as it came
    }

    public var name: DNSName
    public var type: DNSType
    public var dnsClass: UInt16
    public var ttl: UInt32
    public var data: Data

    public init(_ name: DNSName, _ type: DNSType, ttl: UInt32 = 300, dnsClass: UInt16 = dnsClassInternet, _ data: Data)
    {
        self.name = name
        self.type = type
        self.dnsClass = dnsClass
        self.ttl = ttl
        self.data = data
    }

    /// An A or AAAA record, by the address's family.
    public static func address(_ name: DNSName, _ ip: IP, ttl: UInt32 = 300) -> DNSRecord {
        DNSRecord(name, ip.isIPv4 ? .a : .aaaa, ttl: ttl, .address(ip))
    }

    public static func cname(_ name: DNSName, _ target: DNSName, ttl: UInt32 = 300) -> DNSRecord {
        DNSRecord(name, .cname, ttl: ttl, .name(target))
    }
}

public struct DNSMessage: Sendable, Equatable {
    public var header: DNSHeader
    public var questions: [DNSQuestion] = []
    public var answers: [DNSRecord] = []
    public var authorities: [DNSRecord] = []
    public var additionals: [DNSRecord] = []

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSRecord] = []) {
        self.header = header
        self.questions = questions
        self.answers = answers
    }

    /// A query for one name and type, asking the server to recurse (what a stub resolver sends).
    public static func query(_ question: DNSQuestion, id: UInt16) -> DNSMessage {
        var header = DNSHeader(id: id)
        header.recursionDesired = true
        return DNSMessage(header: header, questions: [question])
    }

    /// An empty reply to this query: same ID, same question, RD copied, QR set.
    public func reply(rcode: DNSRCode = .noError, answers: [DNSRecord] = []) -> DNSMessage {
        var header = DNSHeader(id: self.header.id)
        header.isResponse = true
        header.recursionDesired = self.header.recursionDesired
        header.rcode = rcode
        return DNSMessage(header: header, questions: questions, answers: answers)
    }

    // MARK: Writing

    /// The message as bytes, names compressed unless `compress` is false.
    public func encoded(compress: Bool = true) -> [UInt8] {
        var writer = WireWriter(compress: compress)
        writer.uint16(header.id)
        writer.uint16(header.flags)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            writer.uint16(UInt16(count))  // our own lists: more than 65535 entries is a bug here
        }
        for question in questions {
            writer.name(question.name)
            writer.uint16(question.type.rawValue)
            writer.uint16(question.dnsClass)
        }
        for record in answers + authorities + additionals {
            writer.name(record.name)
            writer.uint16(record.type.rawValue)
            writer.uint16(record.dnsClass)
            writer.uint32(record.ttl)
            let lengthAt = writer.bytes.count
            writer.uint16(0)  // RDLENGTH, patched once the data is written
            switch record.data {
            case .address(let ip): writer.append(ip.bytes)
            case .name(let name): writer.name(name)
            case .raw(let bytes): writer.append(bytes)
            }
            writer.patch(UInt16(writer.bytes.count - lengthAt - 2), at: lengthAt)
        }
        return writer.bytes
    }

    // MARK: Reading

    // ANCHOR: parse
    /// Reads a whole message. Anything that does not add up (a count larger than what
    /// follows, a record running past the end, an address of the wrong size, bytes left
    /// over) is an error; no input makes this trap or loop.
    public init(parsing bytes: [UInt8]) throws(DNSFormatError) {
        var reader = WireReader(bytes)
        let (header, counts) = try DNSMessage.header(&reader)
        self.header = header
        for _ in 0..<counts[0] { questions.append(try DNSMessage.question(&reader)) }
        for _ in 0..<counts[1] { answers.append(try DNSMessage.record(&reader)) }
        for _ in 0..<counts[2] { authorities.append(try DNSMessage.record(&reader)) }
        for _ in 0..<counts[3] { additionals.append(try DNSMessage.record(&reader)) }
        guard reader.remaining == 0 else { throw reader.fail("\(reader.remaining) bytes after the last record") }
    }

    /// Just the header and the first question: enough to tell whether a datagram is the
    /// reply to our query (same ID, same question) before trusting anything else in it.
    public static func peek(_ bytes: [UInt8]) throws(DNSFormatError) -> (DNSHeader, DNSQuestion) {
        var reader = WireReader(bytes)
        let (header, counts) = try DNSMessage.header(&reader)
        guard counts[0] > 0 else { throw reader.fail("no question in the message") }
        return (header, try question(&reader))
    }
    // ANCHOR_END: parse

    static func header(_ reader: inout WireReader) throws(DNSFormatError) -> (DNSHeader, [Int]) {
        let header = DNSHeader(id: try reader.uint16(), flags: try reader.uint16())
        var counts: [Int] = []
        for _ in 0..<4 { counts.append(Int(try reader.uint16())) }
        return (header, counts)
    }

    static func question(_ reader: inout WireReader) throws(DNSFormatError) -> DNSQuestion {
        let name = try reader.name()
        let type = DNSType(rawValue: try reader.uint16())
        return DNSQuestion(name, type, dnsClass: try reader.uint16())
    }

    static func record(_ reader: inout WireReader) throws(DNSFormatError) -> DNSRecord {
        let name = try reader.name()
        let type = DNSType(rawValue: try reader.uint16())
        let dnsClass = try reader.uint16()
        let ttl = try reader.uint32()
        let length = Int(try reader.uint16())
        let start = reader.offset
        _ = try reader.bytes(at: start, count: length)  // the whole RDATA must be there
        let data: DNSRecord.Data
        switch type {
        case .a, .aaaa:
            let wanted = type == .a ? 4 : 16
            guard length == wanted else {
                throw reader.fail("\(type) record with \(length) bytes of data, not \(wanted)")
            }
            data = .address(IP(bytes: try reader.take(length)) ?? .anyV4)  // 4 or 16 bytes: never nil
        case .cname, .ns, .ptr:
            data = .name(try reader.name())
            guard reader.offset == start + length else {
                throw reader.fail(
                    "\(type) name takes \(reader.offset - start) bytes, RDLENGTH says \(length)", at: start)
            }
        default:
            data = .raw(try reader.take(length))
        }
        return DNSRecord(name, type, ttl: ttl, dnsClass: dnsClass, data)
    }

    // MARK: Answers

    // ANCHOR: addresses
    /// The longest CNAME chain we follow. A reply is untrusted: one 64 KB datagram can hold
    /// thousands of aliases. Real chains are short (Unbound allowed 8 hops, then 11 after a
    /// real name needed 9; Knot Resolver allows 13), so 16 leaves room and still bounds the walk.
    public static let maxCNAMEs = 16

    /// The addresses that answer `question`: start at its name, follow CNAME records
    /// (each name at most once, so a CNAME loop ends, and at most `maxCNAMEs` of them), and
    /// take the records of the asked type owned by the last name reached. Records about
    /// other names are ignored: a server may only tell us about what we asked. The aliases
    /// go in a dictionary first, so each step of the walk is one lookup, not a scan.
    public func addresses(answering question: DNSQuestion) -> (addresses: [IP], canonicalName: DNSName) {
        let inClass = answers.filter { $0.dnsClass == question.dnsClass }
        var aliases: [DNSName: DNSName] = [:]  // owner → target; the first CNAME of a name counts
        for record in inClass where record.type == .cname {
            if case .name(let target) = record.data, aliases[record.name] == nil { aliases[record.name] = target }
        }
        var name = question.name
        var visited: Set<DNSName> = [name]
        while visited.count <= DNSMessage.maxCNAMEs, let target = aliases[name], visited.insert(target).inserted {
            name = target
        }
        var found: [IP] = []
        for record in inClass where record.type == question.type && record.name == name {
            if case .address(let ip) = record.data, !found.contains(ip) { found.append(ip) }
        }
        return (found, name)
    }
    // ANCHOR_END: addresses
}
