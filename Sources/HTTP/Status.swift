// The status codes this server sends (RFC 9110 §15), with their reason phrases.

public struct Status: Equatable, Sendable, CustomStringConvertible {
    public let code: Int
    public let reason: String

    public static let ok = Status(code: 200, reason: "OK")
    public static let badRequest = Status(code: 400, reason: "Bad Request")
    public static let notFound = Status(code: 404, reason: "Not Found")
    public static let methodNotAllowed = Status(code: 405, reason: "Method Not Allowed")
    public static let requestTimeout = Status(code: 408, reason: "Request Timeout")
    public static let contentTooLarge = Status(code: 413, reason: "Content Too Large")
    public static let uriTooLong = Status(code: 414, reason: "URI Too Long")
    public static let headersTooLarge = Status(code: 431, reason: "Request Header Fields Too Large")
    public static let notImplemented = Status(code: 501, reason: "Not Implemented")
    public static let versionNotSupported = Status(code: 505, reason: "HTTP Version Not Supported")

    public var description: String { "\(code) \(reason)" }
}

/// A request the server refuses: the status to answer with, and why, for the log.
public struct RequestError: Error, Equatable, CustomStringConvertible {
    public let status: Status
    public let why: String

    public init(_ status: Status, _ why: String) {
        self.status = status
        self.why = why
    }

    public var description: String { "\(status): \(why)" }
}
