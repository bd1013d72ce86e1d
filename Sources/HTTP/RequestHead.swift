// A request's head (RFC 9112 §3, §5): the request line, then header fields, then an empty
// line. Everything in it comes from a peer we do not trust, so every part is bounded: the
// request line's length, the head's total bytes, the number of fields; and everything that
// is not well-formed is refused with a 400, never guessed at. The lines come from chapter
// 10's `BufferedReader`, over a TLS connection as over a plain one.
import Sockets

/// How much of a head this server reads before it refuses (Go: `http.Server`'s
/// `MaxHeaderBytes`; the time limit, `ReadHeaderTimeout`, is the server's, on its deadline).
public struct HeadLimits: Sendable {
    /// The request line, CRLF included: longer is 414 URI Too Long.
    public var requestLineBytes = 8 * 1024
    /// The whole head, request line included: more is 431.
    public var headBytes = 16 * 1024
    /// Header fields: more is 431.
    public var fieldCount = 100

    public init() {}
}

public struct RequestHead: Sendable, Equatable {
    public let method: String
    /// As sent: `/index.html?x=1` (origin form), or the path of an absolute-form target.
    public let target: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public let version: String
    /// Field names as sent, values with the surrounding whitespace taken off, in order.
    public let fields: [(name: String, value: String)]

    public static func == (a: RequestHead, b: RequestHead) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version
            && a.fields.map(\.name) == b.fields.map(\.name) && a.fields.map(\.value) == b.fields.map(\.value)
    }

    /// Every value of field `name` (case-insensitive).
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// HTTP/1.1 keeps the connection unless told `close`; HTTP/1.0 closes unless told `keep-alive`.
    public var keepsAlive: Bool {
        let options = values("connection").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces().lowercased() }
        return version == "HTTP/1.1" ? !options.contains("close") : options.contains("keep-alive")
    }

    // ANCHOR: read
    /// Reads one head. nil: the stream ended cleanly before a request began (a client done
    /// with a kept-alive connection). Throws `RequestError` for a head the server refuses,
    /// and the connection's `NetError` (a timeout, a reset) when reading itself fails.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public static func read(from reader: BufferedReader, limits: HeadLimits = HeadLimits()) throws -> RequestHead? {
        var used = 0
        /// A line of at most `limit` bytes, its CRLF counted (so `maxLength` is 2 less).
        func line(_ limit: Int, _ tooLong: RequestError) throws -> [UInt8]? {
            do {
                guard let line = try reader.readLine(maxLength: min(limit, limits.headBytes - used) - 2) else {
                    return nil
                }
                used += line.count + 2
                return line
            } catch {
                switch reader.lineFailure {
                case .tooLong?:
                    let overHead = limit > limits.headBytes - used
                    throw overHead ? RequestError(.headersTooLarge, "head over \(limits.headBytes) bytes") : tooLong
                case .endedInside?: throw RequestError(.badRequest, "the connection ended inside the head")
                case nil: throw error
                }
            }
        }
        // RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line.
        var first: [UInt8] = []
        while first.isEmpty {
            let tooLong = RequestError(.uriTooLong, "request line over \(limits.requestLineBytes) bytes")
            guard let next = try line(limits.requestLineBytes, tooLong) else { return nil }
            first = next
        }
        let (method, target, version) = try requestLine(first)
        var fields: [(String, String)] = []
        while true {
            let tooLarge = RequestError(.headersTooLarge, "head over \(limits.headBytes) bytes")
            guard let next = try line(limits.headBytes, tooLarge) else {
                throw RequestError(.badRequest, "the connection ended inside the head")
            }
            if next.isEmpty { break }
            guard fields.count < limits.fieldCount else {
                throw RequestError(.headersTooLarge, "more than \(limits.fieldCount) header fields")
            }
            fields.append(try field(next))
        }
        let head = RequestHead(method: method, target: target, version: version, fields: fields)
        // §3.2: a 1.1 request without exactly one Host is a 400.
        if version == "HTTP/1.1" && head.values("host").count != 1 {
            throw RequestError(.badRequest, "an HTTP/1.1 request needs exactly one Host field")
        }
        return head
    }
    // ANCHOR_END: read

    // ANCHOR: request-line
    /// `GET /index.html HTTP/1.1`: three parts, one space apart (§3).
    static func requestLine(_ bytes: [UInt8]) throws -> (String, String, String) {
        guard let text = visibleASCII(bytes) else { throw RequestError(.badRequest, "request line is not ASCII text") }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty else {
            throw RequestError(.badRequest, "malformed request line")
        }
        let version = parts[2]
        guard version.hasPrefix("HTTP/"), version.count == 8, version.dropFirst(5).first?.isNumber == true,
            version.dropFirst(6).first == ".", version.last?.isNumber == true
        else { throw RequestError(.badRequest, "malformed HTTP version \(version)") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw RequestError(.versionNotSupported, "\(version) is not spoken here")
        }
        return (parts[0], parts[1], version)
    }
    // ANCHOR_END: request-line

    /// `Name: value` (§5): a token, a colon with no space before it, the value trimmed.
    static func field(_ bytes: [UInt8]) throws -> (String, String) {
        if bytes.first == 0x20 || bytes.first == 0x09 {
            throw RequestError(.badRequest, "obsolete line folding in a header field")  // §5.2
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw RequestError(.badRequest, "header line without a colon")
        }
        let name = String(decoding: bytes[..<colon], as: UTF8.self)
        guard isToken(name) else { throw RequestError(.badRequest, "bad header field name") }
        // Field values may hold obs-text (bytes 0x80 and up), never control characters but tab.
        let raw = bytes[(colon + 1)...]
        guard raw.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw RequestError(.badRequest, "control character in header field \(name)")
        }
        return (name, String(decoding: raw, as: UTF8.self).trimmingSpaces())
    }

    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
                    || "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
    }

    static func visibleASCII(_ bytes: [UInt8]) -> String? {
        bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) ? String(decoding: bytes, as: UTF8.self) : nil
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
