// The client the source's 4.2.3 should have had: it sends a request before it reads, and
// it reads a response by its length, so one connection carries request after request.
import Foundation
import HTTP
import LabKit
import Sockets
import TLS

/// `https://host:port/path`: what `--get` takes.
struct WebAddress: Equatable {
    /// As written in the URL, and sent as `Host`: `127.0.0.1:8443`, `[::1]:8443`.
    let authority: String
    let host: String
    let hostPort: String
    let path: String

    init(_ text: String) throws(UsageError) {
        guard text.hasPrefix("https://") else { throw UsageError("\(text): want an https:// URL") }
        let rest = text.dropFirst("https://".count)
        authority = String(rest.prefix { $0 != "/" })
        path = rest.count == authority.count ? "/" : String(rest.dropFirst(authority.count))
        // `host`, `host:port`, `[::1]`, `[::1]:port`; 443 when no port is given.
        let hasPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        hostPort = hasPort ? authority : authority + ":443"
        do { host = try Address.split(hostPort).host } catch { throw UsageError("\(text): \(error)") }
        guard !host.isEmpty, path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw UsageError("\(text): not a URL this client can send")
        }
    }
}

/// The most of a response body the client keeps (the server's are far smaller).
let maxBodyBytes = 64 * 1024 * 1024

// ANCHOR: client
/// One TLS connection to a server, and requests on it one after another.
final class HTTPClient {
    let connection: TLSConnection
    private let reader: BufferedReader
    private let host: String

    init(_ address: WebAddress, caFile: String?) throws {
        var config = TLSConfig()
        config.caFile = caFile
        config.nextProtos = ["http/1.1"]
        connection = try TLSDialer(config: config, timeout: .seconds(10)).dial("tcp", address.hostPort)
        host = address.authority
        reader = BufferedReader(connection)
    }

    deinit { connection.close() }

    /// The request's text, as written on the wire. The source's client sent nothing and
    /// waited; a web server waits for a request, so both would wait until one gave up.
    func request(_ method: String, _ target: String, fields: [(String, String)] = []) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in [("User-Agent", "https-server-lab13")] + fields { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Sends `bytes` (usually a `request`), then reads one response to `method`.
    func exchange(_ bytes: [UInt8], method: String = "GET") throws -> (head: ResponseHead, body: [UInt8]) {
        connection.setReadDeadline(.after(.seconds(20)))
        try connection.write(bytes)
        return try response(to: method)
    }

    /// A response's head, then its body: `Content-Length` bytes; none for HEAD (whose
    /// length is the GET's); to the end of the connection when there is no length.
    func response(to method: String) throws -> (head: ResponseHead, body: [UInt8]) {
        let head = try ResponseHead.read(from: reader)
        if method == "HEAD" || head.status.code == 204 || head.status.code == 304 { return (head, []) }
        var body: [UInt8] = []
        let length = try head.contentLength()
        guard (length ?? 0) <= maxBodyBytes else { throw RequestError(.contentTooLarge, "a body of \(length!) bytes") }
        while length.map({ body.count < $0 }) ?? (body.count <= maxBodyBytes) {
            let bytes = try reader.read(upTo: (length ?? maxBodyBytes + 1) - body.count)
            if bytes.isEmpty {
                guard length == nil else { throw RequestError(.badRequest, "the body ended early") }
                break
            }
            body += bytes
        }
        return (head, body)
    }
}
// ANCHOR_END: client

/// `--get URL...`: every URL on one connection (they must share `https://host:port`).
/// Bodies go to stdout unchanged; a line per response, and what TLS agreed, to stderr.
func get(_ urls: [String], caFile: String?) throws {
    let addresses = try urls.map { (text) throws(UsageError) in try WebAddress(text) }
    guard let first = addresses.first else { throw UsageError("--get needs a URL") }
    guard addresses.allSatisfy({ $0.hostPort == first.hostPort }) else {
        throw UsageError("--get: every URL must name the same host and port (one connection carries them all)")
    }
    let client = try HTTPClient(first, caFile: caFile)
    warn(
        "connected to \(first.hostPort): \(client.connection.version) \(client.connection.cipherSuite), "
            + "ALPN \(client.connection.negotiatedProtocol ?? "none")")
    for address in addresses {
        let (head, body) = try client.exchange(client.request("GET", address.path))
        warn("GET \(address.path) → \(head.status), \(body.count) bytes")
        writeRaw(body)
        if head.value("connection")?.lowercased() == "close" && address != addresses.last {
            throw RequestError(head.status, "the server closed the connection after \(address.path)")
        }
    }
}
