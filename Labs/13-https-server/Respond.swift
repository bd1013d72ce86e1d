// What the server answers, and how the answer goes on the wire: a head with
// `Content-Length`, then exactly that many bytes (none for HEAD), so the client knows
// where this response ends and the next one begins on the same connection.
import Foundation
import HTTP
import Sockets
import TLS

struct Answer {
    enum Body {
        case bytes([UInt8])
        case file(path: String, size: Int)
    }

    var status: Status
    var contentType: String
    var body: Body
    /// Close the connection after this answer: after a head we refused we cannot know
    /// where the next request would start.
    var closes = false
    var extraFields: [(name: String, value: String)] = []
    var why: String?

    var length: Int {
        switch body {
        case .bytes(let bytes): bytes.count
        case .file(_, let size): size
        }
    }

    var summary: String { "\(status), \(length) bytes" + (why.map { " (\($0))" } ?? "") }

    /// A request answered with an error status; the connection carries on.
    static func refusal(_ error: RequestError) -> Answer {
        Answer(
            status: error.status, contentType: "text/plain; charset=utf-8",
            body: .bytes(Array("\(error.status): \(error.why)\n".utf8)), why: error.why)
    }

    /// A head we refused outright: the error status, then the connection closes.
    static func error(_ error: RequestError) -> Answer {
        var answer = refusal(error)
        answer.closes = true
        return answer
    }
}

// ANCHOR: respond
/// GET and HEAD of files under the root, or of the built-in page without one; 405 for any
/// other method (with `Allow`, as RFC 9110 asks); 400 or 404 for paths that lead nowhere.
func respond(to head: RequestHead, _ settings: ServerSettings, connection: TLSConnection, request: Int) -> Answer {
    guard head.method == "GET" || head.method == "HEAD" else {
        // BEGIN SOLUTION: answer every other method with 405 Method Not Allowed and an Allow field naming GET and HEAD, as RFC 9110 asks § Files, and nothing outside the root
        var answer = Answer.refusal(RequestError(.methodNotAllowed, "\(head.method) is not served here"))
        answer.extraFields = [("Allow", "GET, HEAD")]
        return answer
        // END SOLUTION
    }
    guard let root = settings.root else {
        let path = head.target.prefix { $0 != "?" }
        guard path == "/" || path == "/index.html" else {
            return .refusal(RequestError(.notFound, "the built-in site has only /"))
        }
        return Answer(
            status: .ok, contentType: "text/html; charset=utf-8",
            body: .bytes(builtInPage(connection, request: request)))
    }
    switch root.file(for: head.target) {
    case .failure(let error): return .refusal(error)
    case .success(let path):
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { return .refusal(RequestError(.notFound, "\(head.target) vanished")) }
        return Answer(status: .ok, contentType: MediaType.of(path), body: .file(path: path, size: size))
    }
}
// ANCHOR_END: respond

// ANCHOR: send
/// The head, then the body in pieces of at most 64 kB (one TLS write each).
func send(_ answer: Answer, keepAlive: Bool, bodyToo: Bool, on connection: TLSConnection) throws {
    var head = ResponseHead(
        answer.status,
        [
            ("Date", httpDate(Date())), ("Content-Type", answer.contentType),
            ("Content-Length", String(answer.length)), ("X-Content-Type-Options", "nosniff"),
        ] + answer.extraFields)
    if !keepAlive { head.fields.append(("Connection", "close")) }
    guard bodyToo else { return try connection.write(head.bytes) }
    switch answer.body {
    case .bytes(let bytes):
        try connection.write(head.bytes + bytes)
    case .file(let path, let size):
        guard let file = FileHandle(forReadingAtPath: path) else { throw RequestError(.notFound, "\(path) vanished") }
        defer { try? file.close() }
        try connection.write(head.bytes)
        var left = size
        while left > 0 {
            // A file that shrank since we sent its length: the promised bytes cannot come, so
            // the connection must end (the caller closes it).
            guard let chunk = try file.read(upToCount: min(left, 65_536)), !chunk.isEmpty else {
                throw RequestError(.notFound, "\(path) shrank while being sent")
            }
            try connection.write(Array(chunk))
            left -= chunk.count
        }
    }
}
// ANCHOR_END: send

/// RFC 9110's IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
func httpDate(_ date: Date) -> String {
    let format = DateFormatter()
    format.locale = Locale(identifier: "en_US_POSIX")
    format.timeZone = TimeZone(identifier: "GMT")
    format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return format.string(from: date)
}

/// The page served without `--root`: it says what this connection agreed on, and which
/// request on it this is, so keep-alive can be seen in a browser too.
func builtInPage(_ connection: TLSConnection, request: Int) -> [UInt8] {
    let alpn = connection.negotiatedProtocol.map { "ALPN chose <code>\($0)</code>" } ?? "no ALPN"
    return Array(
        """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>https-server</title></head>
        <body>
        <h1>Hello from https-server</h1>
        <p>Lab 13 of the guide: HTTP/1.1 over <code>\(connection.version)</code> with \
        <code>\(connection.cipherSuite)</code>; \(alpn).</p>
        <p>This is request <strong id="request">\(request)</strong> on this connection.</p>
        </body>
        </html>

        """.utf8)
}
