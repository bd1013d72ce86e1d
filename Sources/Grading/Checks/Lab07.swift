// Lab 7 `tls-server`: `--listen ADDR --cert FILE --key FILE [--count N] [--handshake-timeout D]`
// serves "Hello World!\r\n" over TLS, TLS 1.2 at least with forward-secret AEAD suites, one
// thread per client, each handshake bounded in time. The checks are its clients: `openssl
// s_client` and Python's ssl module, offering what it must take and what it must refuse,
// and plain TCP clients that send garbage or nothing at all. Certificates are made at
// grading time (an RSA key, so that RSA key exchange could be offered at all).
import Foundation
import Sockets

enum Lab07: GradedLab {
    static let grading = LabGrading(
        number: 7, executable: "tls-server", chapter: "Chapters/07-tls-server.md",
        hints: [
            "`serverConfig` starts from `TLSConfig()`: its defaults are the source's mistakes corrected (TLS 1.2 at "
                + "least, X25519 then P-256, and for TLS 1.2 only ECDHE + AEAD suites). Keep them: adding a suite or "
                + "lowering a version only lets weaker clients in.",
            "A server proves who it is with a certificate and its private key: `config.certificateFile = certificate` "
                + "and `config.keyFile = key`. `TLSContext` loads and checks both, and a file that is not there becomes "
                + "one line, `open FILE: no such file or directory`.",
            "A client that connects and says nothing would hold its handshake forever: "
                + "`if let handshakeTimeout { config.handshakeTimeout = handshakeTimeout }`, and after that long the "
                + "handshake gives up with `i/o timeout` (10 s when the flag is not given).",
            "In `serve`, `listener.accept()` returns before any handshake: the handshake runs on the connection's first "
                + "use, inside `hello(connection)`. Call that in a `BackgroundThread` for each client, "
                + "`BackgroundThread(\"client\") { report(hello(connection)) }`, never in the accept loop itself, or one "
                + "silent client stops everyone behind it.",
            "A failed accept (EMFILE, say) is the listener's trouble, not a reason to stop: `report(.failed(\"\\(error)\"))`, "
                + "pause a little, and go on. With `count`, stop accepting after `count` clients, keep their threads, and "
                + "join them all before returning, so that `--count N` exits once every client is done.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "127.0.0.1:0"], mentioning: "--cert"),
            missingCertificate, servesTLS13, servesTLS12, refusesOldVersions, refusesWeakSuites,
            garbageFailsAlone, silentClientHoldsNobody, handshakeTimeout, countStopsTheServer,
            .stopsOnSIGTERM { c in try serverArguments(c.certificates()) },
        ])

    static let greeting = Array("Hello World!\r\n".utf8)

    static let missingCertificate = Check(
        "a certificate file that is not there is one line (open FILE: …) and exit 1", points: 1, section: "The server"
    ) { c in
        let certificates = try c.certificates()
        let missing = "/nonexistent/grading/server.pem"
        let run = try c.run(
            ["--listen", "127.0.0.1:0", "--cert", missing, "--key", certificates.localhostRSA.keyFile],
            within: .seconds(6))
        try c.expectExit(run, 1, "a certificate that cannot be loaded is an error: exit 1")
        let want = "open \(missing): no such file or directory\n"
        guard run.stderr == want else {
            throw CheckFailure(
                "expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr)): the certificate "
                    + "comes from the --cert file (`config.certificateFile`), and the key from --key; TLSContext loads both"
            )
        }
    }

    static let servesTLS13 = Check(
        "serves \"Hello World!\\r\\n\" over TLS 1.3 to openssl s_client, which verifies the certificate", points: 3,
        limit: .seconds(20), section: "The server"
    ) { c in
        let (lab, address, certificates) = try startServer(c)
        let client = try sClient(c, address, certificates, ["-tls1_3", "-ign_eof"])
        let run = client.finish(until: min(.now + .seconds(10), c.deadline))
        c.note("peer: s_client: \(run.briefly)")
        let output = run.stdoutText
        guard !run.killed else {
            throw CheckFailure(
                "s_client was still waiting after \(seconds(run.duration)): after the greeting the server "
                    + "must close the connection (close_notify, then close), or the client waits for more, forever")
        }
        guard run.status == 0, output.contains("New, TLSv1.3") else {
            try serverStillRuns(c, lab)
            throw CheckFailure(
                "s_client offered TLS 1.3 and the handshake failed (\(lastLine(run.stderr))): a server "
                    + "needs its certificate and key (--cert, --key) and TLSConfig()'s versions, TLS 1.2 to 1.3")
        }
        guard output.contains("Hello World!\r\n") else {
            throw CheckFailure(
                "the handshake worked, but s_client did not read \"Hello World!\\r\\n\" before the server "
                    + "closed")
        }
        c.note("peer: s_client: TLS 1.3, certificate verified, read \"Hello World!\\r\\n\", then the server closed")
    }

    static let servesTLS12 = Check(
        "serves the greeting over TLS 1.2 too (Python's ssl client), with a forward-secret AEAD suite", points: 2,
        limit: .seconds(20), section: "The source's configuration, line by line"
    ) { c in
        let (lab, address, certificates) = try startServer(c)
        let results = try pythonClients(c, address, certificates, version: "TLSv1_2")
        do { try expectServed(c, lab, results, count: 1, version: "TLSv1.2") } catch let failure as CheckFailure {
            throw CheckFailure(
                "\(failure.description): TLS 1.2 is the minimum, not TLS 1.3 only; with ECDHE and an AEAD suite a "
                    + "TLS 1.2 client is safe, and refusing it turns away clients for nothing")
        }
        let suite = results[0].split(separator: " ")[2]
        guard suite.hasPrefix("ECDHE-"), suite.contains("GCM") || suite.contains("CHACHA20") else {
            throw CheckFailure(
                "TLS 1.2 agreed on \(suite): a TLS 1.2 suite must be ECDHE (forward secret) and AEAD "
                    + "(GCM or ChaCha20-Poly1305), as TLSConfig()'s are")
        }
    }

    static let refusesOldVersions = Check(
        "refuses clients that offer only TLS 1.0 or TLS 1.1", points: 2, limit: .seconds(20),
        section: "The source's configuration, line by line"
    ) { c in
        let (lab, address, certificates) = try startServer(c)
        for (flag, name) in [("-tls1_1", "TLS 1.1"), ("-tls1", "TLS 1.0")] {
            let client = try sClient(c, address, certificates, [flag, "-cipher", "DEFAULT@SECLEVEL=0"])
            let run = client.finish(until: min(.now + .seconds(8), c.deadline))
            c.note("peer: s_client offering \(name) only: \(run.briefly)")
            try serverStillRuns(c, lab)
            if run.status == 0 && run.stdoutText.contains("Cipher is") && !run.stdoutText.contains("Cipher is (NONE)") {
                throw CheckFailure(
                    "the server agreed to \(name): TLS 1.0 and 1.1 are deprecated (RFC 8996); the minimum "
                        + "is TLS 1.2, TLSConfig()'s default")
            }
        }
        c.note("peer: both refused")
    }

    static let refusesWeakSuites = Check(
        "refuses TLS 1.2 suites without forward secrecy (RSA key exchange) or with CBC", points: 3, limit: .seconds(20),
        section: "The source's configuration, line by line"
    ) { c in
        let (lab, address, certificates) = try startServer(c)
        let offers = [
            (
                "AES256-GCM-SHA384",
                "RSA key exchange, no forward secrecy: whoever steals the server's key later "
                    + "decrypts every recorded session"
            ),
            (
                "ECDHE-RSA-AES128-SHA",
                "CBC, MAC-then-encrypt unless both ends agree otherwise (RFC 7366): the construction behind the padding oracle attacks"
            ),
        ]
        for (suite, why) in offers {
            let client = try sClient(c, address, certificates, ["-tls1_2", "-cipher", suite])
            let run = client.finish(until: min(.now + .seconds(8), c.deadline))
            c.note("peer: s_client offering only \(suite) over TLS 1.2: \(run.briefly)")
            try serverStillRuns(c, lab)
            if run.status == 0 && run.stdoutText.contains("Cipher is \(suite)") {
                throw CheckFailure(
                    "the server agreed to \(suite): \(why). Keep TLSConfig()'s TLS 1.2 suites, ECDHE "
                        + "(forward secrecy) with AEAD only; add none of the source's")
            }
        }
        c.note("peer: both refused")
    }

    static let garbageFailsAlone = Check(
        "a client that sends plain HTTP fails alone: the next client is served", points: 2, limit: .seconds(20),
        section: "The server"
    ) { c in
        let (lab, address, certificates) = try startServer(c)
        let plain = try dial("tcp", address, timeout: .seconds(5))
        c.onCleanup { plain.close() }
        try plain.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let (bytes, ending) = Lab06.readAll(plain, until: .after(min(.seconds(5), c.remaining)))
        plain.close()
        c.note("peer: a plain TCP client sent \"GET / HTTP/1.1…\", read \(excerpt(bytes)), then \(ending ?? "EOF")")
        try serverStillRuns(c, lab)
        if ending?.contains("no EOF") == true {
            throw CheckFailure(
                "a client that does not speak TLS was never hung up on: its handshake has failed, and the "
                    + "server should close that connection")
        }
        let results = try pythonClients(c, address, certificates)
        try expectServed(c, lab, results, count: 1, version: nil)
    }

    static let silentClientHoldsNobody = Check(
        "a client that connects and says nothing does not hold up the next one", points: 3, limit: .seconds(20),
        section: "The server"
    ) { c in
        let (lab, address, certificates) = try startServer(c, ["--handshake-timeout", "20s"])
        let silent = try dial("tcp", address, timeout: .seconds(5))
        c.onCleanup { silent.close() }
        c.note("peer: one client connects, and says nothing (no ClientHello); meanwhile…")
        let results = try pythonClients(c, address, certificates, within: .seconds(6))
        guard !results.isEmpty else {
            try serverStillRuns(c, lab)
            throw CheckFailure(
                "while one client said nothing, the next waited 6s and got no handshake: the handshake "
                    + "runs in the accept loop, so one silent client stops everyone behind it (for --handshake-timeout 20s); "
                    + "give each client its own thread, and shake hands there")
        }
        try expectServed(c, lab, results, count: 1, version: nil)
    }

    static let handshakeTimeout = Check(
        "--handshake-timeout 1s: a client that says nothing is hung up on after about 1s", points: 3,
        limit: .seconds(20),
        section: "The server"
    ) { c in
        let (lab, address, _) = try startServer(c, ["--handshake-timeout", "1s"])
        let start = ContinuousClock.now
        let silent = try dial("tcp", address, timeout: .seconds(5))
        c.onCleanup { silent.close() }
        c.note("peer: connects, says nothing, and waits up to 6s for the server to hang up")
        let (bytes, ending) = Lab06.readAll(silent, until: .after(min(.seconds(6), c.remaining)))
        let waited = ContinuousClock.now - start
        c.note("peer: read \(excerpt(bytes)), then \(ending ?? "EOF") after \(seconds(waited))")
        try serverStillRuns(c, lab)
        if ending?.contains("no EOF") == true {
            throw CheckFailure(
                "the silent client was still connected after \(seconds(waited)): with --handshake-timeout 1s, "
                    + "a handshake that has not finished after 1s must give up (config.handshakeTimeout), or anyone can hold "
                    + "the server's threads and descriptors with connections that never speak")
        }
        if waited < .milliseconds(800) {
            throw CheckFailure("the server hung up after \(seconds(waited)), before the 1s handshake timeout")
        }
    }

    static let countStopsTheServer = Check(
        "--count 2: serves two clients, then exits 0", points: 2, limit: .seconds(20), section: "The server"
    ) { c in
        let (lab, address, certificates) = try startServer(c, ["--count", "2"])
        let results = try pythonClients(c, address, certificates, count: 2)
        try expectServed(c, lab, results, count: 2, version: nil)
        let run = c.finish(lab, within: .seconds(5))
        try c.expectExit(run, 0, "after --count 2 clients have been served, the server must exit 0")
    }

    // MARK: The server and its clients

    static func serverArguments(_ certificates: CheckCertificates) -> [String] {
        [
            "--listen", "127.0.0.1:0", "--cert", certificates.localhostRSA.certificateFile,
            "--key", certificates.localhostRSA.keyFile,
        ]
    }

    /// The lab's server role with the RSA certificate for localhost: its address.
    static func startServer(_ c: CheckContext, _ extra: [String] = []) throws
        -> (lab: LabProcess, address: String, certificates: CheckCertificates)
    {
        let certificates = try c.certificates()
        c.note("grader: a throwaway CA, and an RSA certificate it signed for localhost, 127.0.0.1, ::1")
        let lab = try c.start(serverArguments(certificates) + extra)
        return (lab, try c.listeningAddress(lab), certificates)
    }

    /// A server that has ended while its clients came fails the check, with how it ended.
    static func serverStillRuns(_ c: CheckContext, _ lab: LabProcess) throws {
        guard !lab.isRunning else { return }
        throw c.failure(
            "the server ended while its clients came: a client's failure must end that client only, and "
                + "the server keep serving", c.finish(lab, within: .milliseconds(500)))
    }

    /// `openssl s_client` trusting the checks' CA and checking the name localhost. Without
    /// `-ign_eof` it hangs up right after the handshake (its stdin is empty).
    static func sClient(
        _ c: CheckContext, _ address: String, _ certificates: CheckCertificates,
        _ flags: [String]
    ) throws -> LabProcess {
        try c.program(
            [
                "openssl", "s_client", "-connect", address, "-CAfile", certificates.ca.certificateFile,
                "-verify_return_error", "-verify_hostname", "localhost", "-servername", "localhost",
            ] + flags,
            shown: "openssl s_client -connect \(address) -CAfile ca.pem -verify_return_error "
                + "-verify_hostname localhost " + flags.joined(separator: " "))
    }

    /// Python's ssl client: `count` connections, one after another, each reading to the end.
    static let clientScript = """
        import socket, ssl, sys
        host, port, cafile, version, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
        ctx = ssl.create_default_context(cafile=cafile)
        if version != "any":
            ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
        for _ in range(count):
            try:
                with socket.create_connection((host, port), timeout=8) as raw:
                    with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        data = b""
                        while chunk := tls.recv(4096):
                            data += chunk
                        print("served", tls.version(), tls.cipher()[0], data.hex() or "-", flush=True)
            except Exception as e:
                print("failed", type(e).__name__ + ":", e, flush=True)
        """

    /// Runs Python's client and returns one line per connection: `served VERSION SUITE HEX`
    /// or `failed …`. Fewer lines than `count`: it was still waiting after `within`.
    static func pythonClients(
        _ c: CheckContext, _ address: String, _ certificates: CheckCertificates,
        version: String = "any", count: Int = 1, within: Duration = .seconds(10)
    ) throws -> [String] {
        let (host, port) = try Address.split(address)
        let offer = version == "any" ? "" : " offering \(version.replacingOccurrences(of: "_", with: ".")) only"
        let python = try c.python(
            clientScript, [host, String(port), certificates.ca.certificateFile, version, String(count)],
            shown: "python3: \(count) ssl client\(count == 1 ? "" : "s")\(offer), verifying "
                + "localhost against ca.pem, each reading until the server closes")
        let run = python.finish(until: min(.now + within, c.deadline))
        let lines = run.stdoutLines.filter { $0.hasPrefix("served ") || $0.hasPrefix("failed ") }
        for line in lines {
            let words = line.split(separator: " ")
            if line.hasPrefix("served "), words.count == 4 {
                let bytes = hexBytes(words[3])
                c.note("peer: python: \(words[1]) \(words[2]), read \(excerpt(bytes)), then the server closed")
            } else {
                c.note("peer: python: \(line)")
            }
        }
        if lines.count < count {
            c.note(
                "peer: python: still waiting after \(seconds(run.duration))\(run.stderr.isEmpty ? "" : "; \(lastLine(run.stderr))")"
            )
        }
        return lines
    }

    /// Each of Python's `count` connections must have read exactly the greeting (over
    /// `version`, when given).
    static func expectServed(_ c: CheckContext, _ lab: LabProcess, _ results: [String], count: Int, version: String?)
        throws
    {
        for line in results.prefix(count) {
            let words = line.split(separator: " ")
            guard line.hasPrefix("served "), words.count == 4 else {
                try serverStillRuns(c, lab)
                throw CheckFailure("Python's client could not get the greeting: \(line.dropFirst("failed ".count))")
            }
            if let version, words[1] != version {
                throw CheckFailure("expected \(version), agreed on \(words[1])")
            }
            let bytes = hexBytes(words[3])
            guard bytes == greeting else {
                throw CheckFailure(
                    "expected exactly \(excerpt(greeting)) (14 bytes), then close_notify; got \(excerpt(bytes))")
            }
        }
        if results.count < count {
            try serverStillRuns(c, lab)
            throw CheckFailure(
                "the client waited and got no greeting: the server should shake hands with each client and "
                    + "greet it at once")
        }
    }

    static func hexBytes(_ hex: Substring) -> [UInt8] {
        guard hex != "-" else { return [] }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex) {
            bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }
}
