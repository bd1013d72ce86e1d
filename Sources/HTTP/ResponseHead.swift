// A response's head (RFC 9112 §4): `HTTP/1.1 200 OK`, header fields, an empty line. The
// server writes it; the client reads it, bounded like a request's head.
import Sockets

public struct ResponseHead: Sendable {
    public let status: Status
    public var fields: [(name: String, value: String)]

    public init(_ status: Status, _ fields: [(name: String, value: String)] = []) {
        self.status = status
        self.fields = fields
    }

    /// The head as sent: every line ends in CRLF, and an empty line ends the head.
    public var bytes: [UInt8] {
        var text = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    public func value(_ name: String) -> String? {
        fields.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// `Content-Length` as a number: nil when absent; a malformed one is an error (§6.3).
    public func contentLength() throws -> Int? {
        let values = fields.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        guard let first = values.first else { return nil }
        guard Set(values).count == 1, first.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), first.count <= 15,
            let length = Int(first)
        else { throw RequestError(.badRequest, "malformed Content-Length \(values)") }
        return length
    }

    /// Reads a response's head, as a client: the status line, then the fields.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public static func read(from reader: BufferedReader, limits: HeadLimits = HeadLimits()) throws -> ResponseHead {
        var used = 0
        func line() throws -> [UInt8] {
            guard let line = try reader.readLine(maxLength: limits.headBytes - used - 2) else {
                throw RequestError(.badRequest, "the server closed the connection before a response")
            }
            used += line.count + 2
            return line
        }
        let statusLine = String(decoding: try line(), as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]) else {
            throw RequestError(.badRequest, "malformed status line \"\(statusLine)\"")
        }
        var head = ResponseHead(Status(code: code, reason: parts.count == 3 ? String(parts[2]) : ""))
        while case let next = try line(), !next.isEmpty {
            guard head.fields.count < limits.fieldCount else { throw RequestError(.badRequest, "too many fields") }
            head.fields.append(try RequestHead.field(next))
        }
        return head
    }
}
