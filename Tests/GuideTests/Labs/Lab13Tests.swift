// Lab 13 `https-server`: the demo; curl verifying our CA against the server role, with
// keep-alive, HEAD and ALPN; no path out of --root; refused, oversized and slow requests
// answered with their status while other clients are served; headless Chromium loading a
// page; and our own client role.
import Foundation
import Literate
import Sockets
import TLS
import TestPKI
import Testing

/// A site for the server role: root/{index.html, page.css, sub/notes.txt, leak.txt → ../secret.txt}.
struct TestSite: Sendable {
    let base: String
    var root: String { base + "/root" }

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("lab13-\(UUID().uuidString)").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        let files = [
            "root/index.html": "<!DOCTYPE html><title>t</title><h1>Lab 13 test page</h1>\n",
            "root/page.css": "h1 { color: teal }\n",
            "root/sub/notes.txt": "notes\n",
            "secret.txt": "SECRET-OUTSIDE-THE-ROOT\n",
        ]
        for (name, text) in files { try text.write(toFile: "\(base)/\(name)", atomically: true, encoding: .utf8) }
        try fm.createSymbolicLink(atPath: root + "/leak.txt", withDestinationPath: "../secret.txt")
    }

    func remove() { try? FileManager.default.removeItem(atPath: base) }
}

func httpsServer(root: String?, _ extra: [String] = []) async throws -> RunningLab {
    let c = try await Certificates.shared()
    return try await RunningLab(
        "https-server",
        ["--listen", "127.0.0.1:0", "--cert", c.localhost.certificateFile, "--key", c.localhost.keyFile]
            + (root.map { ["--root", $0] } ?? []) + extra)
}

/// The port of `listening on 127.0.0.1:PORT`; curl asks for `localhost`, which /etc/hosts answers.
func port(of server: RunningLab) async throws -> String {
    String(try await server.address.split(separator: ":").last!)
}

@Suite struct Lab13HTTPSServer {
    @Test func demoShowsKeepAliveEveryRefusalAndTheSourcesWaitingClient() async throws {
        let run = try await runLab("https-server")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let out = run.stdout
        for expected in [
            "ALPN chose http/1.1", "  ← HTTP/1.1 200 OK", "  ← Content-Length: 56",
            "GET /style.css, same connection: 200 OK, text/css",
            "HEAD /: 200 OK, Content-Length 56, 0 bytes of body", "POST /: 405 Method Not Allowed, Allow: GET, HEAD",
            "GET /../secret.txt: 400 Bad Request", "GET /%2e%2e/secret.txt: 400 Bad Request",
            "GET /..%2fsecret.txt: 400 Bad Request", "GET /leak.txt: 404 Not Found",
            "after 1 ClientHello: one handshake for all",
            "no version: 400 Bad Request, then the server closed the connection",
            "HTTP/2.0 in text: 505 HTTP Version Not Supported", "a 9000-byte target: 414 URI Too Long",
            "101 header fields: 431 Request Header Fields Too Large", "connection 7: GET / 200 OK",
            "connection 6: 408 Request Timeout", "reads without a request: i/o timeout",
            "OpenSSL objects still alive: 1 ",
        ] {
            #expect(out.contains(expected), "missing: \(expected)")
        }
        // Every request on connection 1 came from one client port: one connection.
        let ports = Set(
            run.stdoutLines.filter { $0.hasPrefix("  server: ") && !$0.contains("(refused)") }.prefix(9)
                .map { $0.split(separator: " ")[1] })
        #expect(ports.count == 1, "\(ports)")
        #expect(!out.contains("SECRET") && !out.contains("never served\\n\""))
    }

    @Test func curlVerifiesOurCAAndReusesOneConnection() async throws {
        let c = try await Certificates.shared()
        let site = try TestSite()
        defer { site.remove() }
        let server = try await httpsServer(root: site.root)
        let base = "https://localhost:\(try await port(of: server))"
        let run = try await curl([
            "--cacert", c.ca.certificateFile, "--http1.1", "-w", "%{http_code} %{content_type} %{num_connects}\\n",
            "-o", "/dev/null", base + "/", "-o", "/dev/null", base + "/page.css", "-o", "/dev/null",
            base + "/sub/notes.txt",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdoutLines == [
                "200 text/html; charset=utf-8 1", "200 text/css; charset=utf-8 0", "200 text/plain; charset=utf-8 0",
            ], "three responses, one connection (num_connects 1, then 0)")
        let page = try await curl(["--cacert", c.ca.certificateFile, base + "/"])
        #expect(page.stdout == "<!DOCTYPE html><title>t</title><h1>Lab 13 test page</h1>\n")
        // curl offers h2 and http/1.1; ALPN settles on http/1.1. HEAD: the GET's length, no body.
        let head = try await curl(["--cacert", c.ca.certificateFile, "-v", "-I", base + "/"])
        #expect(head.stderr.contains("ALPN: server accepted http/1.1"), "\(head.stderr)")
        #expect(head.stdout.contains("HTTP/1.1 200 OK") && head.stdout.contains("Content-Length: 57"))
        // The same server, without our CA: curl refuses it (exit 60: the peer's certificate cannot be verified).
        let untrusting = try await curl([base + "/"])
        #expect(untrusting.status == 60, "\(untrusting.stderr)")
        let stopped = try await server.stop()
        #expect(stopped.status == 0)
        #expect(stopped.lines.contains { $0.hasSuffix("GET /page.css → 200 OK, 19 bytes") }, "\(stopped.lines)")
    }

    @Test func noRequestPathLeavesTheRoot() async throws {
        let c = try await Certificates.shared()
        let site = try TestSite()
        defer { site.remove() }
        let server = try await httpsServer(root: site.root)
        let base = "https://localhost:\(try await port(of: server))"
        let targets = [
            "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
            "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/leak.txt", "/.%2e/secret.txt",
            "/..\\secret.txt", "/%252e%252e/secret.txt",
        ]
        // --path-as-is: curl sends the dots as typed instead of cleaning them away first.
        var arguments = ["--cacert", c.ca.certificateFile, "--path-as-is", "-w", "%{http_code}\\n"]
        for target in targets { arguments += ["-o", "/dev/null", base + target] }
        let run = try await curl(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines.count == targets.count)
        for (target, status) in zip(targets, run.stdoutLines) {
            #expect(status == "400" || status == "404", "\(target) answered \(status)")
        }
        let bodies = try await curl(["--cacert", c.ca.certificateFile, "--path-as-is"] + targets.map { base + $0 })
        #expect(!bodies.stdout.contains("SECRET"), "\(bodies.stdout)")
        _ = try await server.stop()
    }

    @Test func badHeadsGetTheirStatusWhileOthersAreServed() async throws {
        let c = try await Certificates.shared()
        let server = try await httpsServer(root: nil, ["--header-timeout", "1s"])
        let address = try await server.address
        let base = "https://localhost:\(try await port(of: server))"
        let config = TLSConfig.client(trusting: c.ca)
        // A slow client: half a head, then nothing. It holds one thread and no more.
        let slow = try await onThread { try TLSDialer(config: config, timeout: .seconds(10)).dial("tcp", address) }
        try await onThread { try slow.write("GET / HTTP/1.1\r\nHost: localhost\r\n") }
        let meanwhile = try await curl([
            "--cacert", c.ca.certificateFile, "-w", "%{http_code}", "-o", "/dev/null", base + "/",
        ])
        #expect(meanwhile.stdout == "200", "served while the slow client waits: \(meanwhile.stderr)")
        // Malformed and oversized heads, each on its own connection.
        let bad: [(String, String)] = [
            ("GET /\r\n\r\n", "HTTP/1.1 400 "),
            ("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
            (
                "GET / HTTP/1.1\r\nHost: x\r\n"
                    + (1...300).map { "X-\($0): \(String(repeating: "v", count: 100))\r\n" }.joined()
                    + "\r\n", "HTTP/1.1 431 "
            ),
            ("GET /" + String(repeating: "a", count: 20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 414 "),
            ("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405 "),
            ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 501 "),
        ]
        for (request, status) in bad {
            let answer = try await onThread { () throws -> String in
                let connection = try TLSDialer(config: config, timeout: .seconds(10)).dial("tcp", address)
                defer { connection.close() }
                connection.setReadDeadline(.after(.seconds(20)))
                try connection.write(request)
                return String(decoding: try connection.read(), as: UTF8.self)
            }
            #expect(answer.hasPrefix(status), "\(request.prefix(40).debugDescription): \(answer.prefix(80))")
        }
        let late = try await onThread { () throws -> String in
            slow.setReadDeadline(.after(.seconds(20)))
            return String(decoding: try slow.readToEnd(), as: UTF8.self)
        }
        #expect(late.hasPrefix("HTTP/1.1 408 Request Timeout\r\n") && late.contains("Connection: close\r\n"), "\(late)")
        slow.close()
        let after = try await curl([
            "--cacert", c.ca.certificateFile, "-w", "%{http_code}", "-o", "/dev/null", base + "/",
        ])
        #expect(after.stdout == "200", "still serving")
        let stopped = try await server.stop()
        #expect(stopped.status == 0 && !stopped.stderr.contains("Fatal"), "\(stopped.stderr)")
    }

    @Test func headlessChromiumLoadsThePageOverTLS() async throws {
        guard RealClients.chromium != nil else {
            print("skipped: chromium is not installed (make test installs it: apt-get install chromium)")
            return
        }
        let c = try await Certificates.shared()
        let pin = try c.pki.spkiPin(of: c.localhost.certificateFile)
        let server = try await httpsServer(root: nil)
        let url = "https://127.0.0.1:\(try await port(of: server))/"
        let dom = try await chromium(url, trustingSPKI: pin)
        #expect(
            dom.stdout.contains("<h1>Hello from https-server</h1>"),
            "\(dom.stdout.prefix(300)) \(dom.stderr.suffix(300))")
        #expect(
            dom.stdout.contains("ALPN chose <code>http/1.1</code>"), "Chromium offers h2 too; we agreed on HTTP/1.1")
        let shot = try TestOutput.directory("lab13").appendingPathComponent("https-server.png")
        try? FileManager.default.removeItem(at: shot)
        let picture = try await chromium(url, screenshot: shot, trustingSPKI: pin)
        #expect(
            picture.status == 0 && FileManager.default.fileExists(atPath: shot.path), "\(picture.stderr.suffix(300))")
        // Without the pin Chromium refuses our CA, as it should: no page, so no request logged.
        let refused = try await chromium(url)
        #expect(!refused.stdout.contains("Hello from https-server"))
        let stopped = try await server.stop()
        #expect(
            stopped.lines.filter { $0.hasSuffix("GET / → 200 OK") || $0.contains(" GET / → 200 OK") }.count >= 2,
            "\(stopped.lines)")
    }

    @Test func ourClientSendsRequestsOnOneConnection() async throws {
        let c = try await Certificates.shared()
        let site = try TestSite()
        defer { site.remove() }
        let server = try await httpsServer(root: site.root)
        let base = "https://localhost:\(try await port(of: server))"
        let run = try await runLab(
            "https-server", ["--get", base + "/page.css", base + "/sub/notes.txt", "--ca", c.ca.certificateFile])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "h1 { color: teal }\nnotes\n")
        #expect(run.stderr.contains("ALPN http/1.1"))
        #expect(run.stderr.contains("GET /sub/notes.txt → 200 OK, 6 bytes"))
        let untrusting = try await runLab("https-server", ["--get", base + "/"])
        #expect(untrusting.status == 1 && untrusting.stderr.contains("certificate"), "\(untrusting.stderr)")
        let stopped = try await server.stop()
        let ports = Set(
            stopped.lines.dropFirst().filter { $0.contains(" GET ") }.prefix(2).map { $0.split(separator: " ")[0] })
        #expect(ports.count == 1, "both requests came on one connection: \(stopped.lines)")
    }

    @Test(arguments: [
        ["--listen", "127.0.0.1:0"], ["--listen", "127.0.0.1:0", "--cert", "x"], ["--root", "/tmp"],
        ["--get", "http://localhost/"], ["--get"], ["--listen", "nonsense"],
    ])
    func usageErrorsAreOneLineAndStatus2(arguments: [String]) async throws {
        let run = try await runLab("https-server", arguments)
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test func aRootThatIsNoDirectoryIsAUsageError() async throws {
        let c = try await Certificates.shared()
        let run = try await runLab(
            "https-server",
            [
                "--listen", "127.0.0.1:0", "--cert", c.localhost.certificateFile, "--key", c.localhost.keyFile,
                "--root",
                "/nonexistent/dir",
            ])
        #expect(run.status == 2 && run.stderr.contains("not a directory"), "\(run.stderr)")
    }
}
