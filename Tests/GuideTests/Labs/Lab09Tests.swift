// Lab 9 `tls-client`: the demo, and `--dial` against servers we did not write (lab 7,
// `openssl s_server`, Python's ssl module) and against every certificate it must refuse.
import Foundation
import Literate
import Sockets
import TLS
import TestPKI
import Testing

@Suite struct Lab09TLSClient {
    @Test func demoShowsEachFailureAndWhatInsecureBelieves() async throws {
        let run = try await runLab("tls-client")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdoutLines
        let verified = lines.drop { !$0.hasPrefix("verifying") }.prefix { !$0.isEmpty }
        let insecure = lines.drop { !$0.hasPrefix("with --insecure") }
        func line(_ name: String, in part: some Collection<String>) -> String {
            part.first { $0.hasPrefix("\(name): ") || $0.hasPrefix("\(name) (") } ?? "(no line for \(name))"
        }
        #expect(line("good", in: verified) == "good: connected, read \"hello from the good server\\r\\n\"")
        let expected = [
            ("impostor", "x509: certificate is valid for elsewhere.test, not localhost", "bad certificate"),
            ("untrusted", "x509: certificate signed by unknown authority", "unknown certificate authority"),
            ("expired", "x509: certificate has expired or is not yet valid", "expired certificate"),
            ("self-signed", "x509: certificate signed by unknown authority", "unknown certificate authority"),
        ]
        for (name, reason, alert) in expected {
            let refused = line(name, in: verified)
            #expect(refused.contains(": tls: failed to verify certificate: \(reason) [OpenSSL: "), "\(refused)")
            let seen = verified.first { $0.hasPrefix("  the server saw: ") && $0.hasSuffix(alert) }
            #expect(seen != nil, "no server saw `remote error: tls: \(alert)`")
            let believed = line(name, in: insecure)
            #expect(
                believed.hasPrefix(
                    "\(name): connected, read \"hello from the \(name) server\\r\\n\"; unchecked: \(reason)"),
                "\(believed)")
        }
        let directory = try #require(lines.first?.split(separator: " ").first { $0.hasPrefix("/") }.map(String.init))
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func talksToLab7ByNameAndByAddress(host: String) async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost, host: host)
        let port = try await server.address.split(separator: ":").last!
        let targets = host == "::1" ? ["[::1]:\(port)"] : ["localhost:\(port)", "127.0.0.1:\(port)"]
        for target in targets {
            let run = try await runLab("tls-client", ["--dial", target, "--ca", c.ca.certificateFile])
            #expect(run.status == 0, "\(target): \(run.stderr)")
            #expect(run.stdout == "Hello World!\r\n")
            let info = run.stderr.split(separator: "\n").map(String.init)
            #expect(
                info.first?.hasPrefix("connected to \(host.contains(":") ? "[::1]" : host):\(port): TLSv1.3 ") == true,
                "\(info)")
            #expect(
                info.dropFirst().first
                    == "server certificate: CN=localhost,O=Guide test PKI, issued by CN=Guide Test CA,O=Guide test PKI, for localhost, 127.0.0.1, ::1"
            )
            #expect(info.count == 2, "lab 7 ends with close_notify: no note about a missing one")
        }
        _ = try await server.stop()
    }

    @Test(arguments: ["-tls1_3", "-tls1_2"])
    func talksToOpenSSLsServer(version: String) async throws {
        let c = try await Certificates.shared()
        let server = try OpenSSLServer(
            ["-cert", c.localhost.certificateFile, "-key", c.localhost.keyFile, "-naccept", "1", version],
            input: "hello from s_server\n")
        let port = try await server.address().split(separator: ":").last!
        let client = try await RunningLab("tls-client", ["--dial", "localhost:\(port)", "--ca", c.ca.certificateFile])
        #expect(try await client.line(0) == "hello from s_server")
        // s_server, killed, sends no close_notify: the kernel closes its socket. Between two
        // records that reads as the end (as in Go), and the lab says what it could not check.
        await server.stop()
        let run = try await client.wait()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.lines == ["hello from s_server"])
        #expect(run.stderr.contains(": TLSv1.\(version.last!) "), "\(run.stderr)")
        #expect(
            run.stderr.hasSuffix(
                "note: the server closed TCP without close_notify: nothing proves the data was complete\n"),
            "\(run.stderr)")
    }

    @Test func talksToPythonsServer() async throws {
        let c = try await Certificates.shared()
        for version in ["TLSv1_2", "TLSv1_3"] {
            let python = try PythonPeer(
                """
                import socket, ssl
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain("\(c.localhost.certificateFile)", "\(c.localhost.keyFile)")
                ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.\(version)
                listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(1)
                print(listener.getsockname()[1], flush=True)
                raw, _ = listener.accept()
                tls = ctx.wrap_socket(raw, server_side=True)
                tls.sendall(b"hello from python\\r\\n")
                tls.unwrap().close()  # close_notify, then TCP close
                """)
            let port = try await python.firstLine()
            let run = try await runLab(
                "tls-client", ["--dial", "localhost:\(port)", "--ca", c.ca.certificateFile], timeout: 20)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "hello from python\r\n")
            #expect(run.stderr.contains(": \(version.replacing("_", with: ".")) "), "\(run.stderr)")
            #expect(!run.stderr.contains("note:"), "python sent close_notify")
            await python.stop()
        }
    }

    @Test func everyBadCertificateIsOneLineAndExitOne() async throws {
        let c = try await Certificates.shared()
        let cases: [(Identity, String?, String)] = [
            (
                c.elsewhere, c.ca.certificateFile,
                "x509: certificate is valid for elsewhere.test, not localhost [OpenSSL: hostname mismatch]"
            ),
            (
                c.untrusted, c.ca.certificateFile,
                "x509: certificate signed by unknown authority [OpenSSL: unable to get local issuer certificate]"
            ),
            (
                c.expired, c.ca.certificateFile,
                "x509: certificate has expired or is not yet valid [OpenSSL: certificate has expired]"
            ),
            // No --ca: the system's roots, which no self-signed certificate chains to. Nothing to forget.
            (c.selfSigned, nil, "x509: certificate signed by unknown authority [OpenSSL: self-signed certificate]"),
            (
                c.localhost, nil,
                "x509: certificate signed by unknown authority [OpenSSL: unable to get local issuer certificate]"
            ),
        ]
        for (identity, ca, reason) in cases {
            let server = try ModuleServer(.server(identity))
            let run = try await runLab(
                "tls-client", ["--dial", "localhost:\(server.port)"] + (ca.map { ["--ca", $0] } ?? []))
            #expect(run.status == 1, "\(identity.name): \(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
            #expect(run.stderr.hasPrefix("handshake tcp 127.0.0.1:"), "\(run.stderr)")
            #expect(
                run.stderr.hasSuffix("->127.0.0.1:\(server.port): tls: failed to verify certificate: \(reason)\n"),
                "\(run.stderr)")
        }
    }

    @Test func serverNameChoosesTheNameToVerify() async throws {
        let c = try await Certificates.shared()
        let server = try ModuleServer(.server(c.elsewhere), count: 2)
        let good = try await runLab(
            "tls-client",
            [
                "--dial", "127.0.0.1:\(server.port)", "--ca", c.ca.certificateFile,
                "--server-name", "elsewhere.test",
            ])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout == "Hello World!\r\n")
        // Without it, the address dialed is the name: the certificate has no IP entry.
        let bad = try await runLab("tls-client", ["--dial", "127.0.0.1:\(server.port)", "--ca", c.ca.certificateFile])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.hasSuffix(
                ": x509: certificate is valid for elsewhere.test, not 127.0.0.1 [OpenSSL: IP address mismatch]\n"),
            "\(bad.stderr)")
    }

    @Test func insecureConnectsToAnImpostorAndSaysSo() async throws {
        let c = try await Certificates.shared()
        let server = try ModuleServer(.server(c.elsewhere))
        let run = try await runLab(
            "tls-client", ["--dial", "localhost:\(server.port)", "--ca", c.ca.certificateFile, "--insecure"])
        #expect(run.status == 0)
        #expect(run.stdout == "Hello World!\r\n")
        #expect(
            run.stderr.contains(
                "WARNING: --insecure: the certificate was not checked "
                    + "(x509: certificate is valid for elsewhere.test, not localhost [OpenSSL: hostname mismatch]); anyone could be answering"
            ),
            "\(run.stderr)")
    }

    @Test func refusesServersThatOfferOnlyOldVersionsOrWeakSuites() async throws {
        let c = try await Certificates.shared()
        let rsa = try Certificates.rsa()
        let cases: [([String], String)] = [
            (["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], "remote error: tls: protocol version not supported"),
            (["-tls1_2", "-cipher", "AES256-GCM-SHA384:AES128-SHA"], "remote error: tls: handshake failure"),
            (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"], "remote error: tls: handshake failure"),
        ]
        for (flags, reason) in cases {
            // Two clients: ours (refused), then openssl s_client with the server's own terms (served).
            let server = try OpenSSLServer(
                ["-cert", rsa.certificateFile, "-key", rsa.keyFile, "-naccept", "2"] + flags)
            let address = try await server.address()
            let run = try await runLab(
                "tls-client", ["--dial", address, "--ca", c.ca.certificateFile, "--server-name", "localhost"])
            #expect(run.status == 1)
            #expect(
                run.stderr.hasPrefix("handshake tcp 127.0.0.1:") && run.stderr.hasSuffix(": \(reason)\n"),
                "\(flags): \(run.stderr)")
            let control = try await sClient(address, ca: c.ca, flags, untilServerCloses: false)
            #expect(control.status == 0, "the server does work for a client that accepts \(flags): \(control.stderr)")
            await server.stop()
        }
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        // Listening, so the kernel completes TCP handshakes; but nobody accepts or speaks.
        let listener = try Listener("tcp", "127.0.0.1:0")
        let start = ContinuousClock.now
        let run = try await runLab("tls-client", ["--dial", listener.address.description, "--timeout", "500ms"])
        let took = ContinuousClock.now - start
        #expect(run.status == 1)
        #expect(
            run.stderr.hasPrefix("handshake tcp 127.0.0.1:")
                && run.stderr.hasSuffix("->\(listener.address): i/o timeout\n"),
            "\(run.stderr)")
        #expect(took >= .milliseconds(450) && took < generous(.seconds(20)), "\(took)")
        listener.close()
        let port = try closedPort()
        expectNetworkError(
            try await runLab("tls-client", ["--dial", "127.0.0.1:\(port)"]),
            "dial tcp 127.0.0.1:\(port): connect: connection refused")
        expectNetworkError(
            try await runLab("tls-client", ["--dial", "127.0.0.1:1", "--ca", "/nonexistent/ca.pem"]),
            "open /nonexistent/ca.pem: no such file or directory")
    }

    @Test(arguments: [
        ["--dial"], ["--dial", "localhost"], ["--ca", "x"], ["--insecure"], ["--server-name", "x"],
        ["--dial", "127.0.0.1:1", "--timeout", "5"], ["--dial", "127.0.0.1:1", "--server-name", ""],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) async throws {
        expectUsageError(try await runLab("tls-client", arguments), mentioning: "--")
    }
}
