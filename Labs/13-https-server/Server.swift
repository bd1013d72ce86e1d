// The server: TLS from the TLS module, HTTP/1.1 from the HTTP module, one thread per
// connection as in lab 7, and on each connection one request after another (keep-alive)
// until the client closes, asks to close, goes quiet, or sends something we refuse.
import Foundation
import HTTP
import LabKit
import Sockets
import TLS

/// What the server allows, and how long it waits. Go's `http.Server` has the same knobs:
/// `MaxHeaderBytes`, `ReadHeaderTimeout`, `IdleTimeout`, `WriteTimeout`.
struct ServerSettings: Sendable {
    /// Files come from here; nil: the built-in page.
    var root: StaticRoot?
    var limits = HeadLimits()
    /// From a request's first byte to the end of its head: a slower client gets 408.
    var headerTimeout: Duration = .seconds(10)
    /// How long a kept-alive connection may sit between requests before we close it.
    var idleTimeout: Duration = .seconds(30)
    /// Writing one response may take this long (a client that never reads holds nothing).
    var writeTimeout: Duration = .seconds(30)
    /// A request body we read and discard (GET with a body); a larger one is 413.
    var bodyBytes = 64 * 1024
}

// ANCHOR: tls-config
/// Lab 7's server configuration, plus ALPN: we offer `http/1.1`, so a browser that would
/// rather speak HTTP/2 (`h2`) knows, inside the handshake, to speak HTTP/1.1 to us.
func serverConfig(certificate: String, key: String) -> TLSConfig {
    var config = TLSConfig()
    config.certificateFile = certificate
    config.keyFile = key
    // BEGIN SOLUTION: offer ALPN's "http/1.1" in the server's config (Go's NextProtos), so clients that prefer h2 know what this server speaks § ALPN in the TLS module
    config.nextProtos = ["http/1.1"]
    // END SOLUTION
    return config
}
// ANCHOR_END: tls-config

/// What the server reports: a line per request answered, and a line per connection or
/// accept that failed (the server carries on). The server role prints them to stdout and
/// stderr; the demo collects both.
struct ServerLog: Sendable {
    let request: @Sendable (String) -> Void
    let failure: @Sendable (String) -> Void
}

/// The accept loop of lab 7: a thread per connection, `count` connections, then stop.
func serve(_ listener: TLSListener, _ settings: ServerSettings, count: Int?, log: ServerLog) {
    var threads: [BackgroundThread] = []
    var accepted = 0
    while count.map({ accepted < $0 }) ?? true {
        let connection: TLSConnection
        do { connection = try listener.accept() } catch {
            log.failure("\(error)")
            Thread.sleep(forTimeInterval: 0.01)
            continue
        }
        accepted += 1
        let thread = BackgroundThread("connection") { serveConnection(connection, settings, log: log) }
        if count != nil { threads.append(thread) }
    }
    threads.forEach { $0.join() }
}

// ANCHOR: connection
/// One connection: requests one after another, each answered in full before the next is
/// read. The idle timeout bounds the wait for a request's first byte; from then on the
/// header timeout bounds the whole head, so a client that trickles bytes gets a 408.
func serveConnection(_ connection: TLSConnection, _ settings: ServerSettings, log: ServerLog) {
    defer { connection.close() }
    let peer = connection.connection.remoteAddress.map { "\($0)" } ?? "?"
    do { try connection.handshake() } catch {
        log.failure("\(peer): \(error)")
        return
    }
    let reader = BufferedReader(connection)
    var served = 0
    while true {
        connection.setReadDeadline(.after(settings.idleTimeout))
        do { guard try reader.waitForByte() else { break } } catch { break }  // closed or idle: nothing to answer
        let answer: Answer
        var head: RequestHead?
        do {
            head = try readHead(reader, connection, settings)
            guard let head else { break }
            try discardBody(of: head, reader, settings)
            answer = respond(to: head, settings, connection: connection, request: served + 1)
        } catch let refused as RequestError {
            answer = .error(refused)
        } catch let error as NetError where error.isTimeout {
            answer = .error(
                RequestError(.requestTimeout, "no complete head after \(settings.headerTimeout.goDescription)"))
        } catch {
            log.failure("\(peer): \(error)")
            return
        }
        served += 1
        let keepAlive = (head?.keepsAlive ?? false) && !answer.closes
        connection.setWriteDeadline(.after(settings.writeTimeout))
        do { try send(answer, keepAlive: keepAlive, bodyToo: head?.method != "HEAD", on: connection) } catch {
            log.failure("\(peer): \(error)")
            return
        }
        log.request("\(peer) \(head.map { "\($0.method) \($0.target)" } ?? "(refused)") → \(answer.summary)")
        if answer.closes { drain(reader, connection) }
        if !keepAlive { break }
    }
}
// ANCHOR_END: connection

// ANCHOR: drain
/// After refusing a head, the rest of it (a 30 kB head cut off at 16 kB, say) may still be
/// arriving. Closing with those bytes unread makes the kernel send a reset, and a reset can
/// destroy our error response before the client has read it. So, like Go's server, read and
/// drop what comes for a moment, bounded in bytes and time, before closing.
func drain(_ reader: BufferedReader, _ connection: TLSConnection) {
    connection.setReadDeadline(.after(.milliseconds(500)))
    var dropped = 0
    while dropped < 1 << 20, let bytes = try? reader.read(upTo: 65_536), !bytes.isEmpty { dropped += bytes.count }
}
// ANCHOR_END: drain

// ANCHOR: read-head
/// A request has begun (its first byte is in): from now on the whole head must arrive
/// within the header timeout, and stay within the limits, or the client gets an error status.
func readHead(
    _ reader: BufferedReader, _ connection: TLSConnection, _ settings: ServerSettings
) throws -> RequestHead? {
    // BEGIN SOLUTION: bound the rest of the head by the header timeout (a read deadline on the connection), then read it with RequestHead.read and the server's limits § One connection, many requests
    connection.setReadDeadline(.after(settings.headerTimeout))
    return try RequestHead.read(from: reader, limits: settings.limits)
    // END SOLUTION
}
// ANCHOR_END: read-head

/// A body on a GET is allowed and means nothing: read it and drop it, up to a limit, so the
/// next request starts where it should. Chunked bodies we do not read at all.
func discardBody(of head: RequestHead, _ reader: BufferedReader, _ settings: ServerSettings) throws {
    if !head.values("transfer-encoding").isEmpty {
        throw RequestError(.notImplemented, "request bodies in Transfer-Encoding are not read here")
    }
    let lengths = head.values("content-length")
    guard !lengths.isEmpty else { return }
    let length = try ResponseHead(.ok, lengths.map { ("content-length", $0) }).contentLength() ?? 0
    guard length <= settings.bodyBytes else {
        throw RequestError(.contentTooLarge, "a body of \(length) bytes (at most \(settings.bodyBytes))")
    }
    var left = length
    while left > 0 {
        let bytes = try reader.read(upTo: left)
        guard !bytes.isEmpty else { throw RequestError(.badRequest, "the connection ended inside the body") }
        left -= bytes.count
    }
}
