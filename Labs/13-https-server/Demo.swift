// The demo: a site in a temporary directory, the server on a kernel-chosen port, and our
// client showing a request and its response, keep-alive, HEAD, every way out of the root
// refused, heads refused for their shape or size, a slow client timed out while another is
// served, and the source's client waiting for a reply to a request it never sent.
import Foundation
import HTTP
import LabKit
import Sockets
import TLS
import TestPKI

/// A small site, with a secret beside it and a symbolic link from inside to the secret.
struct DemoSite {
    let directory: String
    var root: String { directory + "/site" }

    init() throws {
        let pki = FileManager.default.temporaryDirectory.path + "/https-server-site-\(getpid())"
        directory = pki
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let files = [
            "site/index.html": "<!DOCTYPE html>\n<title>Lab 13</title>\n<h1>It works</h1>\n",
            "site/style.css": "h1 { color: teal; }\n",
            "secret.txt": "the root's neighbour: never served\n",
        ]
        for (name, text) in files { try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8) }
        try FileManager.default.createSymbolicLink(atPath: root + "/leak.txt", withDestinationPath: "../secret.txt")
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

// ANCHOR: demo
func demo() throws {
    let pki = try TestPKI("https-server")
    let ca = try pki.authority("Guide Test CA", file: "ca")
    let identity = try pki.server("localhost", names: ["localhost", "127.0.0.1", "::1"], signedBy: ca)
    say("pki: a throwaway CA and a certificate for localhost, 127.0.0.1 and ::1, deleted at exit")
    let site = try DemoSite()
    defer { site.remove() }
    say("site: index.html and style.css; leak.txt, a symbolic link to ../secret.txt, outside the root")

    var settings = ServerSettings(root: StaticRoot(site.root))
    settings.headerTimeout = .seconds(1)
    settings.idleTimeout = .seconds(5)
    let config = serverConfig(certificate: identity.certificateFile, key: identity.keyFile)
    let listener = try TLSListener("tcp", "127.0.0.1:0", TLSContext(.server, config))
    say("listening on \(listener.address): HTTP/1.1 over TLS, header timeout 1s (the default is 10s)")
    let log = Mailbox<String>()
    let server = BackgroundThread("server") { [settings] in
        serve(listener, settings, count: 8, log: ServerLog(request: log.put, failure: log.put))
    }
    let address = try WebAddress("https://127.0.0.1:\(listener.address.port)/")

    try keepAlive(address, ca: ca.certificateFile, log)
    try refusedHeads(address, ca: ca.certificateFile, log)
    try slowClient(address, ca: ca.certificateFile, log)
    try sourceClient(address, ca: ca.certificateFile)

    server.join()
    listener.close()
    say("")
    say("OpenSSL objects still alive: \(OpenSSLObjects.alive) (the server's context): every connection's SSL was freed")
}
// ANCHOR_END: demo

/// What the server logged about a request: the oldest line that mentions `text`.
func serverSaid(_ log: Mailbox<String>, _ text: String) -> String {
    log.take { $0.contains(text) }.map { "  server: " + $0 } ?? "  server: (said nothing about \(text))"
}

// ANCHOR: demo-keep-alive
/// Connection 1: a request and its response in full, then more requests on the same
/// connection, HEAD, a method we do not serve, and every path that tries to leave the root.
func keepAlive(_ address: WebAddress, ca: String, _ log: Mailbox<String>) throws {
    let client = try HTTPClient(address, caFile: ca)
    let tls = client.connection
    say("")
    say("connection 1: \(tls.version) \(tls.cipherSuite), ALPN chose \(tls.negotiatedProtocol ?? "nothing")")
    let request = client.request("GET", "/")
    for line in lines(request) { say("  → \(line)") }
    let (head, body) = try client.exchange(request)
    for line in lines(head.bytes) { say("  ← \(line)") }
    say("  ← \(quoted(body))")
    say(serverSaid(log, "GET / "))

    let (css, cssBody) = try client.exchange(client.request("GET", "/style.css"))
    say("GET /style.css, same connection: \(css.status), \(css.value("content-type") ?? "?"), \(cssBody.count) bytes")
    say(serverSaid(log, "GET /style.css"))
    let (headOnly, none) = try client.exchange(client.request("HEAD", "/"), method: "HEAD")
    say(
        "HEAD /: \(headOnly.status), Content-Length \(headOnly.value("content-length") ?? "?"), \(none.count) bytes of body"
    )
    say(serverSaid(log, "HEAD /"))
    let (post, _) = try client.exchange(client.request("POST", "/", fields: [("Content-Length", "0")]))
    say("POST /: \(post.status), Allow: \(post.value("allow") ?? "?")")
    say(serverSaid(log, "POST /"))
    for target in ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/leak.txt", "/missing.html"] {
        let (refused, _) = try client.exchange(client.request("GET", target))
        say("GET \(target): \(refused.status)")
        say(serverSaid(log, "GET \(target) "))
    }
    let hellos = tls.messages.filter { $0.sent && $0.name == "ClientHello" }.count
    say("9 requests on connection 1, from one client port, after \(hellos) ClientHello: one handshake for all")
}
// ANCHOR_END: demo-keep-alive

// ANCHOR: demo-refused
/// Connections 2 to 5: heads refused for their shape or size. Each ends its connection.
func refusedHeads(_ address: WebAddress, ca: String, _ log: Mailbox<String>) throws {
    say("")
    let manyFields = (1...101).map { "X-Field-\($0): \($0)\r\n" }.joined()
    let heads: [(String, String, String)] = [
        ("no version", "GET /index.html\r\n\r\n", "malformed"),
        ("HTTP/2.0 in text", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/2.0"),
        (
            "a 9000-byte target", "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n",
            "request line"
        ),
        ("101 header fields", "GET / HTTP/1.1\r\nHost: x\r\n\(manyFields)\r\n", "header fields"),
    ]
    for (number, (what, text, why)) in heads.enumerated() {
        let client = try HTTPClient(address, caFile: ca)
        let (head, _) = try client.exchange(Array(text.utf8))
        let closed = (try? client.response(to: "GET")) == nil
        say(
            "connection \(number + 2), \(what): \(head.status)\(closed ? ", then the server closed the connection" : "")"
        )
        say(serverSaid(log, why))
    }
}
// ANCHOR_END: demo-refused

// ANCHOR: demo-slow
/// Connections 6 and 7: a client that sends half a head and stops, and one served meanwhile.
func slowClient(_ address: WebAddress, ca: String, _ log: Mailbox<String>) throws {
    say("")
    let slow = try HTTPClient(address, caFile: ca)
    let start = ContinuousClock.now
    try slow.connection.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  // no empty line: the head never ends
    say("connection 6 sends half a head and waits; meanwhile...")
    let other = try HTTPClient(address, caFile: ca)
    let (head, _) = try other.exchange(other.request("GET", "/"))
    say("connection 7: GET / \(head.status)")
    let (late, _) = try slow.response(to: "GET")
    say("connection 6: \(late.status) after \(shown(ContinuousClock.now - start))")
    say(serverSaid(log, "no complete head"))
}
// ANCHOR_END: demo-slow

// ANCHOR: demo-source
/// Connection 8: the source's client reads first. An HTTP server waits for a request.
func sourceClient(_ address: WebAddress, ca: String) throws {
    say("")
    let client = try HTTPClient(address, caFile: ca)
    client.connection.setReadDeadline(.after(.milliseconds(500)))
    do {
        let bytes = try client.connection.read()
        say("connection 8, the source's client, reads without a request: got \(quoted(bytes))")
    } catch {
        say(
            "connection 8, the source's client, reads without a request: \(error.isTimeout ? "i/o timeout" : "\(error)")"
        )
        say("  nothing comes: the server is waiting for the request the client never sent")
    }
}
// ANCHOR_END: demo-source

/// A head's lines, as text, without their CRLF.
func lines(_ bytes: [UInt8]) -> [String] {
    String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
}
