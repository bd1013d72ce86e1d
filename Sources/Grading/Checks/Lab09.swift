// Lab 9 `tls-client`: `--dial ADDR [--ca FILE] [--server-name NAME] [--insecure]` shakes hands,
// verifies the server (chain to a trusted root, in date, the right name) and copies what it
// sends to stdout. The checks are its servers: Python's ssl module and `openssl s_server`,
// holding a good certificate, or one for another name, from an untrusted CA, expired, or
// self-signed, all made at grading time. Each bad one must end in exit 1 and one line.
import Foundation
import Sockets
import TestPKI

enum Lab09: GradedLab {
    static let grading = LabGrading(
        number: 9, executable: "tls-client", chapter: "Chapters/09-tls-client.md",
        hints: [
            "Start from `TLSConfig()`: verification is on by default, and `TLSDialer` makes OpenSSL check the chain, "
                + "the dates and the name during the handshake. You check nothing by hand; you only say what to trust "
                + "and which name to expect.",
            "Trust the CAs in --ca: `config.caFile = ca`. When --ca is not given, `ca` is nil and the system's roots "
                + "(/etc/ssl/certs) are trusted, which is right: a test CA or a self-signed certificate is not among them.",
            "The name the certificate must hold is --server-name when it is given, or else the host you dial: "
                + "`config.serverName = try serverName ?? Address.split(address).host`. For `127.0.0.1:8443` that is "
                + "`127.0.0.1`, an address, checked against the certificate's IP entries.",
            "`config.insecureSkipVerify = insecure`, and nothing else may turn it on: not an IP address, not "
                + "localhost, not a certificate that fails. With it, any certificate is accepted, including a man in "
                + "the middle's.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--insecure"], mentioning: "--dial"),
            copiesAGoodServer, dialsAnAddress, wrongName, untrustedAuthority, expired, selfSigned, insecure, serverName,
        ])

    static let impostor = "hello from the impostor, believed\r\n"
    static let elsewhere = "hello from elsewhere.test\r\n"

    /// What the checks' good server sends: every byte value, in a pattern.
    static func payload(_ size: Int) -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 256) } }

    static let copiesAGoodServer = Check(
        "copies what a verified server sends (50000 bytes) to stdout, then exits 0", points: 3, limit: .seconds(20),
        section: "Our Swift"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(
            c, certificates.localhost, "for localhost, 127.0.0.1, ::1, signed by the CA in --ca",
            bytes: 50_000)
        let run = try c.run(
            ["--dial", "localhost:\(port)", "--ca", certificates.ca.certificateFile], within: .seconds(10))
        try expectCopied(c, run, payload(50_000), dialed: "localhost")
    }

    static let dialsAnAddress = Check(
        "dials an address (127.0.0.1): openssl s_server over TLS 1.2, certificate checked against its IP entries",
        points: 2, limit: .seconds(20), section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let text = "hello from openssl s_server\n"
        let server = try c.program(
            [
                "openssl", "s_server", "-accept", "127.0.0.1:0", "-tls1_2", "-naccept", "1",
                "-cert", certificates.localhost.certificateFile, "-key", certificates.localhost.keyFile,
            ],
            shown: "openssl s_server -accept 127.0.0.1:0 -tls1_2 -cert localhost.pem -key localhost.key",
            input: text)
        guard let accept = c.line(of: server, startingWith: "ACCEPT ") else {
            throw CheckError("openssl s_server did not start: \(server.finish(until: .now + .seconds(1)).briefly)")
        }
        let address = String(accept.dropFirst("ACCEPT ".count))
        c.note(
            "peer: s_server listens on \(address) with a certificate for localhost, 127.0.0.1, ::1, TLS 1.2 only, "
                + "and sends \(excerpt(text)) to whoever connects")
        let lab = try c.start(["--dial", address, "--ca", certificates.ca.certificateFile])
        let line = lab.line(0, until: min(.now + .seconds(8), c.deadline))
        c.note("peer: s_server is stopped (its socket closed without close_notify)")
        server.kill()
        let run = c.finish(lab, within: .seconds(5))
        if line == nil {
            try expectCopied(c, run, Array(text.utf8), dialed: "127.0.0.1")
        }
        try c.expectExit(run, 0, "the lab must copy what s_server sent and exit 0 when it closes")
        try Lab03.expectCopy(run, Array(text.utf8))
    }

    static let wrongName = Check(
        "a certificate for another name is refused, dialed by name or by address: exit 1, one line that says so",
        points: 4, limit: .seconds(20), section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(
            c, certificates.elsewhere,
            "for elsewhere.test only, signed by the CA in --ca "
                + "(a real certificate, for another name: what an impostor holds)", count: 2)
        for host in ["localhost", "127.0.0.1"] {
            let run = try c.run(
                ["--dial", "\(host):\(port)", "--ca", certificates.ca.certificateFile], within: .seconds(8))
            try expectRefused(
                c, run, saying: "certificate is valid for elsewhere.test, not \(host)",
                lesson: "the lab dialed \(host) and accepted a certificate valid for elsewhere.test only: "
                    + "the certificate must name the host name you dialed (an address: among its IP entries), "
                    + "or --server-name when it is given. A valid certificate for some other name is exactly "
                    + "what an impostor holds; the name is checked, like the chain, unless --insecure")
        }
    }

    static let untrustedAuthority = Check(
        "a certificate from a CA not in --ca is refused: exit 1, one line", points: 3, limit: .seconds(20),
        section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(c, certificates.untrusted, "for localhost, signed by somebody else's CA")
        let run = try c.run(
            ["--dial", "localhost:\(port)", "--ca", certificates.ca.certificateFile], within: .seconds(8))
        try expectRefused(
            c, run, saying: "certificate signed by unknown authority",
            lesson: "the lab accepted a certificate signed by a CA it was not told to trust: only the CAs "
                + "in --ca (or, without it, the system's roots) may vouch for a server. Verification stays "
                + "on unless --insecure")
    }

    static let expired = Check(
        "an expired certificate is refused: exit 1, one line", points: 2, limit: .seconds(20),
        section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(
            c, certificates.expired, "for localhost, signed by the CA in --ca, expired yesterday")
        let run = try c.run(
            ["--dial", "localhost:\(port)", "--ca", certificates.ca.certificateFile], within: .seconds(8))
        try expectRefused(
            c, run, saying: "certificate has expired",
            lesson: "the lab accepted a certificate that expired yesterday: every certificate in the chain "
                + "must be in date. Verification stays on unless --insecure")
    }

    static let selfSigned = Check(
        "a self-signed certificate is refused with no --ca (the system's roots): exit 1, one line", points: 2,
        limit: .seconds(20), section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(c, certificates.selfSigned, "for localhost, signed by its own key")
        let run = try c.run(["--dial", "localhost:\(port)"], within: .seconds(8))
        try expectRefused(
            c, run, saying: "certificate signed by unknown authority",
            lesson: "with no --ca the lab must trust the system's roots, and a certificate signed by its "
                + "own key chains to none of them: anyone can make one. Verification is on by default, "
                + "and stays on unless --insecure")
    }

    static let insecure = Check(
        "--insecure connects to an impostor, copies what it sends, and warns on stderr", points: 2, limit: .seconds(20),
        section: "What the source gets wrong (4.2.3)"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(
            c, certificates.elsewhere, "for elsewhere.test only, signed by the CA in --ca",
            text: impostor)
        let run = try c.run(
            ["--dial", "localhost:\(port)", "--ca", certificates.ca.certificateFile, "--insecure"],
            within: .seconds(8))
        if run.status == 1 {
            throw CheckFailure(
                "with --insecure the lab refused the certificate (\(lastLine(run.stderr))): --insecure is "
                    + "Go's InsecureSkipVerify, `config.insecureSkipVerify = insecure`, and accepts any certificate")
        }
        try c.expectExit(run, 0, "with --insecure the lab must connect, copy, and exit 0")
        try Lab03.expectCopy(run, Array(impostor.utf8))
        guard run.stderr.contains("WARNING: --insecure") else {
            throw CheckFailure(
                "the lab said nothing about skipping verification: stderr should carry its `WARNING: "
                    + "--insecure` line; got \(excerpt(run.stderr))")
        }
    }

    static let serverName = Check(
        "--server-name NAME is the name checked, instead of the host dialed", points: 3, limit: .seconds(20),
        section: "What \"verified\" means"
    ) { c in
        let certificates = try c.certificates()
        let port = try pythonServer(
            c, certificates.elsewhere, "for elsewhere.test only, signed by the CA in --ca",
            text: elsewhere)
        let run = try c.run(
            [
                "--dial", "127.0.0.1:\(port)", "--ca", certificates.ca.certificateFile,
                "--server-name", "elsewhere.test",
            ], within: .seconds(8))
        if run.status == 1 && run.stderr.contains("not 127.0.0.1") {
            throw CheckFailure(
                "the lab checked the certificate against 127.0.0.1, the --dial host: with --server-name "
                    + "elsewhere.test, the name to check (and to send as SNI) is elsewhere.test")
        }
        try expectCopied(c, run, Array(elsewhere.utf8), dialed: "elsewhere.test")
        let good = try pythonServer(
            c, certificates.localhost, "for localhost, 127.0.0.1, ::1, signed by the CA in --ca")
        let other = try c.run(
            [
                "--dial", "localhost:\(good)", "--ca", certificates.ca.certificateFile,
                "--server-name", "elsewhere.test",
            ], within: .seconds(8))
        try expectRefused(
            c, other, saying: "not elsewhere.test",
            lesson: "--server-name elsewhere.test says which server we mean, and this certificate is for "
                + "localhost: the name checked must be --server-name's, not the host dialed")
    }

    // MARK: Servers, and what must come of them

    /// Python's ssl module as a TLS server on 127.0.0.1: for each of `count` connections, a
    /// handshake, then its bytes (given in hex, or `pattern:N`: N bytes of `payload`), then
    /// close_notify.
    static let serverScript = """
        import socket, ssl, sys
        cert, key, count, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
        if what.startswith("pattern:"):
            payload = bytes((i * 31 + i // 256) % 256 for i in range(int(what[len("pattern:"):])))
        else:
            payload = bytes.fromhex(what)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        print("port", listener.getsockname()[1], flush=True)
        for _ in range(count):
            raw, _ = listener.accept()
            raw.settimeout(10)
            try:
                tls = ctx.wrap_socket(raw, server_side=True)
                tls.sendall(payload)
                tls.unwrap().close()
                print("served", flush=True)
            except Exception as e:
                print("failed", e, flush=True)
                raw.close()
        """

    /// Starts Python's server with `identity`'s certificate, sending `bytes` (nil: `text`)
    /// to each client; returns its port.
    static func pythonServer(
        _ c: CheckContext, _ identity: Identity, _ about: String, bytes: Int? = nil,
        text: String = "hello from a server that must not be believed\r\n", count: Int = 1
    ) throws -> UInt16 {
        let what = bytes.map { "pattern:\($0)" } ?? text.utf8.map { String(format: "%02x", $0) }.joined()
        let python = try c.python(
            serverScript, [identity.certificateFile, identity.keyFile, String(count), what],
            shown: "python3: an ssl server on 127.0.0.1 with a certificate \(about)")
        guard let line = c.line(of: python, startingWith: "port "), let port = UInt16(line.dropFirst("port ".count))
        else {
            throw CheckError("Python's TLS server did not start: \(python.finish(until: .now + .seconds(1)).briefly)")
        }
        let sends = bytes.map { "\($0) bytes (every byte value)" } ?? excerpt(text)
        c.note("peer: it listens on 127.0.0.1:\(port); to each client it sends \(sends), then close_notify")
        return port
    }

    /// The lab must have copied `bytes` and exited 0; a refusal says which check failed.
    static func expectCopied(_ c: CheckContext, _ run: Finished, _ bytes: [UInt8], dialed name: String) throws {
        if run.status == 1 {
            let line = lastLine(run.stderr)
            if line.contains("signed by unknown authority") {
                throw CheckFailure(
                    "the lab refused a good certificate (\(line)): it is signed by the CA in --ca, so "
                        + "trust that file (`config.caFile`); without it only the system's roots are trusted")
            }
            if line.contains("certificate is valid for") {
                throw CheckFailure(
                    "the lab refused a good certificate (\(line)): the name to check is \(name), "
                        + "--server-name when given, or else the host of the --dial address")
            }
        }
        try c.expectExit(run, 0, "the lab must shake hands, copy what the server sends, and exit 0 when it closes")
        try Lab03.expectCopy(run, bytes)
    }

    /// The lab must have refused: exit 1, nothing on stdout, one line on stderr that gives
    /// the handshake's reason (containing `saying`). Connecting is answered with `lesson`.
    static func expectRefused(_ c: CheckContext, _ run: Finished, saying reason: String, lesson: String) throws {
        if run.status == 0 && !run.killed {
            throw CheckFailure(lesson + " (it connected, read \(excerpt(run.stdout, limit: 64)), and exited 0)")
        }
        try c.expectExit(run, 1, "a certificate that fails verification ends the handshake: a network error, exit 1")
        guard run.stdout.isEmpty else {
            throw CheckFailure(
                "nothing from a server that failed verification may reach stdout; got \(excerpt(run.stdout))")
        }
        let lines = run.stderr.split(separator: "\n")
        guard lines.count == 1, lines[0].contains("tls: failed to verify certificate"), lines[0].contains(reason) else {
            throw CheckFailure(
                "expected one line on stderr, the handshake's failure and its reason "
                    + "(`handshake tcp …: tls: failed to verify certificate: x509: …\(reason)…`); got \(excerpt(run.stderr))"
            )
        }
    }
}
