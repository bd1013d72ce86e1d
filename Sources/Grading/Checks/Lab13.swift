// Lab 13 `https-server`: `--listen ADDR --cert FILE --key FILE [--root DIR] [--count N]
// [--header-timeout D]` serves HTTP/1.1 over TLS. The checks' client is Python's ssl
// module, verifying the grader's CA and offering ALPN `h2, http/1.1` as a browser does; it
// sends raw requests, several on one connection, and reports each response. The site is
// made at grading time in a temporary directory, with a secret beside the root and a
// symbolic link to it inside.
import Foundation
import Sockets

enum Lab13: GradedLab {
    static let grading = LabGrading(
        number: 13, executable: "https-server", chapter: "Chapters/13-https.md",
        hints: [
            "ALPN is one line of the server's TLSConfig: `config.nextProtos = [\"http/1.1\"]` (Go's NextProtos). "
                + "A browser offers h2 first; without ALPN it cannot know which protocol the server speaks.",
            "`readHead` runs once a request's first byte has arrived. Bound the rest by the header timeout, "
                + "`connection.setReadDeadline(.after(settings.headerTimeout))`, then "
                + "`return try RequestHead.read(from: reader, limits: settings.limits)`: a client that never ends "
                + "its head gets 408 when the deadline passes.",
            "A method other than GET and HEAD: `var answer = Answer.refusal(RequestError(.methodNotAllowed, …))`, "
                + "then `answer.extraFields = [(\"Allow\", \"GET, HEAD\")]` (RFC 9110 says a 405 MUST carry Allow), "
                + "and return it. The connection carries on: the head itself was fine.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "127.0.0.1:0"], mentioning: "--cert"),
            servesFiles, offersALPN, keepsAlive, refusesOtherMethods, noPathLeavesTheRoot, refusesBadHeads,
            slowClientGets408,
            .stopsOnSIGTERM { c in try serverArguments(c) },
        ])

    // MARK: The checks

    static let servesFiles = Check(
        "serves a file under --root with its Content-Type and Content-Length to a client verifying the CA",
        points: 3, limit: .seconds(20), section: "Files, and nothing outside the root"
    ) { c in
        let (_, address) = try startServer(c)
        let responses = try exchange(c, address, ["GET /style.css HTTP/1.1\r\nHost: localhost\r\n\r\n"])
        let response = try only(responses, 1, "GET /style.css")[0]
        guard response.status.hasPrefix("HTTP/1.1 200 ") else {
            throw CheckFailure("GET /style.css got \(excerpt(response.status)): the file exists under --root")
        }
        guard response.body == css, response.fields["content-length"] == String(css.utf8.count) else {
            throw CheckFailure(
                "the body was \(excerpt(response.body)) with Content-Length \(response.fields["content-length"] ?? "none"), "
                    + "not the file's \(css.utf8.count) bytes: Content-Length must be the body's exact length")
        }
        guard response.fields["content-type"]?.hasPrefix("text/css") == true else {
            throw CheckFailure(
                "Content-Type was \(response.fields["content-type"] ?? "missing"): a .css file is text/css")
        }
    }

    static let offersALPN = Check(
        "ALPN: to a client offering h2 and http/1.1, the server chooses http/1.1", points: 1, limit: .seconds(20),
        section: "ALPN in the TLS module"
    ) { c in
        let (_, address) = try startServer(c)
        let run = try client(c, address, ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"])
            .finish(until: min(.now + .seconds(10), c.deadline))
        let alpn = run.stdoutLines.first { $0.hasPrefix("alpn ") }.map { String($0.dropFirst(5)) } ?? "(no handshake)"
        guard alpn == "http/1.1" else {
            throw CheckFailure(
                "ALPN chose \(alpn): the server must offer \"http/1.1\" (TLSConfig's nextProtos), so that a browser, "
                    + "which offers h2 first, knows inside the handshake to speak HTTP/1.1")
        }
    }

    static let keepsAlive = Check(
        "keep-alive: GET, GET, HEAD on one connection, each answered in full; HEAD has GET's length and no body",
        points: 2, limit: .seconds(20), section: "One connection, many requests"
    ) { c in
        let (_, address) = try startServer(c)
        let requests = ["GET /", "GET /style.css", "HEAD /"].map { "\($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }
        let responses = try only(exchange(c, address, requests), 3, "three requests on one connection")
        guard responses.allSatisfy({ $0.status.hasPrefix("HTTP/1.1 200 ") }) else {
            throw CheckFailure("the answers were \(responses.map(\.status)): all three ask for files that exist")
        }
        guard responses[2].fields["content-length"] == responses[0].fields["content-length"] else {
            throw CheckFailure(
                "HEAD / said Content-Length \(responses[2].fields["content-length"] ?? "none"), GET / said "
                    + "\(responses[0].fields["content-length"] ?? "none"): HEAD's head is GET's, body left out")
        }
    }

    static let refusesOtherMethods = Check(
        "POST gets 405 Method Not Allowed with Allow: GET, HEAD, and the connection goes on", points: 1,
        limit: .seconds(20), section: "Files, and nothing outside the root"
    ) { c in
        let (_, address) = try startServer(c)
        let requests = [
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi",
            "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        ]
        let responses = try only(exchange(c, address, requests), 2, "POST, then GET, on one connection")
        guard responses[0].status.hasPrefix("HTTP/1.1 405 "), responses[0].fields["allow"] == "GET, HEAD" else {
            throw CheckFailure(
                "POST / got \(excerpt(responses[0].status)) with Allow \(responses[0].fields["allow"] ?? "missing"): "
                    + "the server serves GET and HEAD, and a 405 must say so in an Allow field")
        }
        guard responses[1].status.hasPrefix("HTTP/1.1 200 ") else {
            throw CheckFailure("the GET after the POST got \(excerpt(responses[1].status))")
        }
    }

    static let targetsOutside = [
        "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e%2fsecret.txt", "/..%2fsecret.txt",
        "/sub/../../secret.txt", "/leak.txt",
    ]

    static let noPathLeavesTheRoot = Check(
        "no path leaves the root: dot segments, %2e%2e, %2f and a symbolic link all get 400 or 404", points: 3,
        limit: .seconds(20), section: "Files, and nothing outside the root"
    ) { c in
        let (_, address) = try startServer(c)
        let requests = targetsOutside.map { "GET \($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }
        let responses = try exchange(c, address, requests)
        for (target, response) in zip(targetsOutside, responses) {
            if response.body.contains("SECRET")
                || !(response.status.hasPrefix("HTTP/1.1 400 ") || response.status.hasPrefix("HTTP/1.1 404 "))
            {
                throw CheckFailure(
                    "GET \(target) got \(excerpt(response.status)) \(excerpt(response.body)): decode the path first, "
                        + "refuse `..`, then resolve it with realpath and check it is still under the root")
            }
        }
        _ = try only(responses, targetsOutside.count, "every target answered")
    }

    static let refusesBadHeads = Check(
        "a malformed head gets 400 and 101 header fields get 431, then the connection closes", points: 2,
        limit: .seconds(20), section: "Reading a head, with limits"
    ) { c in
        let (_, address) = try startServer(c)
        let fields = (1...101).map { "X-\($0): \($0)\r\n" }.joined()
        for (request, status) in [
            ("GET /index.html\r\n\r\n", "400"), ("GET / HTTP/1.1\r\nHost: localhost\r\n\(fields)\r\n", "431"),
        ] {
            let responses = try exchange(c, address, [request])
            guard responses.first?.status.hasPrefix("HTTP/1.1 \(status) ") == true else {
                throw CheckFailure(
                    "\(excerpt(request, limit: 40)) got \(responses.first.map { excerpt($0.status) } ?? "no answer"), "
                        + "not \(status): RequestHead.read refuses it, and the server answers with the error's status")
            }
        }
    }

    static let slowClientGets408 = Check(
        "--header-timeout 1s: a client that never ends its head gets 408, while another is served", points: 2,
        limit: .seconds(20), section: "One connection, many requests"
    ) { c in
        let (_, address) = try startServer(c, ["--header-timeout", "1s"])
        let slow = try client(c, address, ["GET / HTTP/1.1\r\nHost: localhost\r\n"], shown: "half a head, then nothing")
        pause(.milliseconds(300))
        let other = try exchange(c, address, ["GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"])
        guard other.first?.status.hasPrefix("HTTP/1.1 200 ") == true else {
            throw CheckFailure("the other client got \(other.first?.status ?? "no answer") while the slow one waited")
        }
        let run = slow.finish(until: min(.now + .seconds(6), c.deadline))
        let response = responses(in: run).first
        guard let response, response.status.hasPrefix("HTTP/1.1 408 ") else {
            throw CheckFailure(
                "the slow client got \(response.map { excerpt($0.status) } ?? "nothing in 6s"): once a request's first "
                    + "byte is in, the header timeout (a read deadline) bounds the rest of its head, and then it is 408"
            )
        }
    }

    // MARK: The server, the site, the client

    static let css = "h1 { color: teal }\n"

    /// A site in the check's own temporary directory, deleted when the check ends.
    static func site(_ c: CheckContext) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("grade-lab13-\(UUID().uuidString)")
            .path
        c.onCleanup { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: base + "/root/sub", withIntermediateDirectories: true)
        for (name, text) in [
            "root/index.html": "<!DOCTYPE html><title>t</title><h1>graded</h1>\n", "root/style.css": css,
            "root/sub/a.txt": "a\n", "secret.txt": "SECRET\n",
        ] {
            try text.write(toFile: "\(base)/\(name)", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(
            atPath: base + "/root/leak.txt", withDestinationPath: "../secret.txt")
        return base + "/root"
    }

    static func serverArguments(_ c: CheckContext) throws -> [String] {
        let certificates = try c.certificates()
        return [
            "--listen", "127.0.0.1:0", "--cert", certificates.localhost.certificateFile, "--key",
            certificates.localhost.keyFile, "--root", try site(c),
        ]
    }

    static func startServer(_ c: CheckContext, _ extra: [String] = []) throws -> (LabProcess, String) {
        let lab = try c.start(try serverArguments(c) + extra)
        return (lab, try c.listeningAddress(lab))
    }

    struct Response: Decodable {
        let status: String
        let fields: [String: String]
        let body: String
    }

    /// Python's client: one connection, each request sent and its response read in turn.
    static func client(_ c: CheckContext, _ address: String, _ requests: [String], shown: String? = nil) throws
        -> LabProcess
    {
        let (host, port) = try Address.split(address)
        let json = String(decoding: try JSONEncoder().encode(requests), as: UTF8.self)
        let what =
            shown ?? requests.map { excerpt(String($0.prefix { $0 != "\r" }), limit: 40) }.joined(separator: ", ")
        return try c.python(
            clientScript, [host, String(port), try c.certificates().ca.certificateFile, json],
            shown:
                "python3: ssl client verifying localhost against ca.pem, ALPN h2,http/1.1; on one connection: \(what)")
    }

    static func exchange(_ c: CheckContext, _ address: String, _ requests: [String]) throws -> [Response] {
        let run = try client(c, address, requests).finish(until: min(.now + .seconds(10), c.deadline))
        let found = responses(in: run)
        for response in found { c.note("peer: python: ← \(response.status), \(response.body.utf8.count) bytes") }
        if found.count < requests.count { c.note("peer: python: \(run.briefly)") }
        return found
    }

    static func responses(in run: Finished) -> [Response] {
        run.stdoutLines.filter { $0.hasPrefix("response ") }.compactMap {
            try? JSONDecoder().decode(Response.self, from: Data($0.dropFirst("response ".count).utf8))
        }
    }

    static func only(_ responses: [Response], _ count: Int, _ what: String) throws -> [Response] {
        guard responses.count >= count else {
            throw CheckFailure(
                "\(what): \(responses.count) of \(count) responses came: each response needs a Content-Length, and "
                    + "after a good request the connection stays open for the next (HTTP/1.1 keeps it by default)")
        }
        return responses
    }

    static let clientScript = """
        import json, socket, ssl, sys
        host, port, ca, requests = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection((host, port), timeout=8) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                print("alpn", tls.selected_alpn_protocol(), flush=True)
                buffer = b""
                for request in requests:
                    tls.sendall(request.encode("latin-1"))
                    while b"\\r\\n\\r\\n" not in buffer:
                        chunk = tls.recv(65536)
                        if not chunk:
                            print("closed", flush=True)
                            sys.exit(0)
                        buffer += chunk
                    head, buffer = buffer.split(b"\\r\\n\\r\\n", 1)
                    lines = head.decode("latin-1").split("\\r\\n")
                    fields = {}
                    for line in lines[1:]:
                        name, _, value = line.partition(":")
                        fields[name.strip().lower()] = value.strip()
                    length = 0 if request.startswith("HEAD ") else int(fields.get("content-length", "0"))
                    while len(buffer) < length:
                        chunk = tls.recv(65536)
                        if not chunk:
                            break
                        buffer += chunk
                    body, buffer = buffer[:length], buffer[length:]
                    print("response", json.dumps({"status": lines[0], "fields": fields, "body": body.decode("latin-1")}), flush=True)
        """
}
