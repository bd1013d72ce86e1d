// Lab 7 `tls-server`: the demo, and the server role against clients we did not write
// (`openssl s_client`, Python's ssl module) and against this module's client.
import Foundation
import Literate
import Sockets
import TLS
import TestPKI
import Testing

@Suite struct Lab07TLSServer {
    @Test func demoRefusesOldVersionsAndWeakSuitesAndKeepsServing() async throws {
        let run = try await runLab("tls-server")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let lines = run.stdoutLines
        func line(_ prefix: String) -> String { lines.first { $0.hasPrefix(prefix) } ?? "(no line \(prefix))" }
        #expect(line("client 1,").contains(": TLSv1.3 "))
        #expect(line("client 2,").contains(": TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 X25519"))
        for client in ["client 3,", "client 4,", "client 5,"] { #expect(line(client).hasSuffix(": refused")) }
        #expect(lines.contains { $0.hasSuffix(": tls: unsupported protocol") })
        #expect(lines.filter { $0.hasSuffix(": tls: no shared cipher") }.count == 2)
        // The control: the source's configuration takes both weak offers.
        #expect(lines.contains { $0.contains("served ") && $0.contains("TLS_RSA_WITH_AES_256_GCM_SHA384") })
        #expect(lines.contains { $0.contains("served ") && $0.contains("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA") })
        #expect(line("  server, on client 7:").contains(": i/o timeout"))
        #expect(line("client 8,").hasSuffix("read \"Hello World!\\r\\n\""))
        #expect(lines.last?.hasPrefix("OpenSSL objects still alive: 1 ") == true, "\(lines.last ?? "")")
        // The throwaway PKI is gone.
        let directory = try #require(
            line("pki: in ").split(separator: " ").first { $0.hasPrefix("/") }.map(String.init))
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
    }

    @Test func aDemoStoppedBySIGTERMStillDeletesItsKeys() async throws {
        let demo = try await RunningLab("tls-server", [])
        let line = try await demo.line(1)
        let directory = try #require(line.split(separator: " ").first { $0.hasPrefix("/") }.map(String.init), "\(line)")
        // Stopped mid-demo (on a loaded machine it may have finished already: the keys
        // must be gone either way).
        let stopped = try await demo.stop()
        #expect(stopped.status == 0, "\(stopped)")
        #expect(stopped.stderr.isEmpty, "a stopped demo says nothing on stderr: \(stopped.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
    }

    @Test(arguments: ["-tls1_3", "-tls1_2"])
    func servesOpenSSLsClient(version: String) async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost)
        let run = try await sClient(try await server.address, ca: c.ca, [version])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Hello World!\r\n"))
        #expect(run.stdout.contains("Verify return code: 0 (ok)"))
        #expect(run.stdout.contains("Protocol  : TLSv1.\(version.last!)"))
        let served = try await server.line(1)
        #expect(served.contains(": TLSv1.\(version.last!) "), "\(served)")
        _ = try await server.stop()
    }

    @Test func servesPythonsClientOverIPv4AndIPv6() async throws {
        let c = try await Certificates.shared()
        for host in ["127.0.0.1", "::1"] {
            let server = try await tlsServer(c.localhost, host: host)
            let port = try await server.address.split(separator: ":").last!
            for version in ["TLSv1_2", "TLSv1_3"] {
                let script = """
                    import socket, ssl
                    ctx = ssl.create_default_context(cafile="\(c.ca.certificateFile)")
                    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.\(version)
                    with socket.create_connection(("\(host)", \(port))) as raw:
                        with ctx.wrap_socket(raw, server_hostname="\(host)") as tls:
                            data = b""
                            while chunk := tls.recv(100):
                                data += chunk
                            print(tls.version(), repr(data), flush=True)
                    """
                let python = try PythonPeer(script)
                #expect(try await python.firstLine() == "\(version.replacing("_", with: ".")) b'Hello World!\\r\\n'")
                await python.stop()
            }
            _ = try await server.stop()
        }
    }

    @Test func refusesOldVersionsAndSuitesWithoutForwardSecrecy() async throws {
        let c = try await Certificates.shared()
        let rsa = try Certificates.rsa()  // RSA key exchange needs an RSA certificate to be possible at all
        let refused: [([String], String)] = [
            (["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"], "tls: unsupported protocol"),
            (["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], "tls: unsupported protocol"),
            (["-tls1_2", "-cipher", "AES256-GCM-SHA384"], "tls: no shared cipher"),  // RSA key exchange
            (["-tls1_2", "-cipher", "AES128-SHA"], "tls: no shared cipher"),  // and CBC
            (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"], "tls: no shared cipher"),  // forward secret, but CBC
        ]
        let server = try await tlsServer(rsa)
        let address = try await server.address
        for (flags, _) in refused {
            let run = try await sClient(address, ca: c.ca, flags)
            #expect(run.status != 0, "\(flags) connected")
        }
        // Python, as a client that insists on TLS 1.1.
        let python = try PythonPeer(
            """
            import socket, ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.load_verify_locations("\(c.ca.certificateFile)")
            ctx.set_ciphers("DEFAULT@SECLEVEL=0"); ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
            try:
                ctx.wrap_socket(socket.create_connection(("127.0.0.1", \(address.split(separator: ":").last!))), server_hostname="localhost")
                print("connected", flush=True)
            except ssl.SSLError as e:
                print("refused", e.reason, flush=True)
            """)
        #expect(try await python.firstLine().hasPrefix("refused"))
        await python.stop()
        // A good client still gets through: one thread per client, and nothing is stuck.
        let good = try await sClient(address, ca: c.ca, [])
        #expect(good.stdout.contains("Hello World!\r\n"))
        let result = try await server.stop()
        let failures = result.stderr.split(separator: "\n").map(String.init)
        #expect(failures.count == refused.count + 1, "\(failures)")
        for (failure, (flags, reason)) in zip(failures, refused) {
            #expect(failure.hasPrefix("handshake tcp \(address)->127.0.0.1:"), "\(failure)")
            #expect(failure.hasSuffix(": \(reason)"), "\(flags): \(failure)")
        }
        #expect(failures.last?.hasSuffix(": tls: unsupported protocol") == true, "python: \(failures.last ?? "")")

        // The control: OpenSSL's own server, default settings, same certificate, accepts
        // each of the weak suites. The refusals above are our configuration's doing.
        let outside = try OpenSSLServer(["-cert", rsa.certificateFile, "-key", rsa.keyFile, "-naccept", "3"])
        let outsideAddress = try await outside.address()
        for (flags, _) in refused[2...] {
            let run = try await sClient(outsideAddress, ca: c.ca, flags, untilServerCloses: false)
            #expect(run.status == 0 && run.stdout.contains("Cipher is \(flags[2])"), "\(flags): \(run.stderr)")
        }
        await outside.stop()
    }

    @Test func aBadClientFailsAloneWhileOthersAreServed() async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost, ["--handshake-timeout", "1s"])
        let address = try await server.address
        let start = ContinuousClock.now
        // One client says nothing; one sends HTTP; then a good client is served at once.
        let silent = try await onThread { try dial("tcp", address) }
        let garbage = try await onThread { () -> NetError? in
            let connection = try dial("tcp", address)
            defer { connection.close() }
            try connection.write("GET / HTTP/1.0\r\n\r\n")
            return netError { _ = try connection.readToEnd() }
        }
        // The server reads and discards the request as it closes (chapter 10), so no reset: EOF.
        #expect(garbage == nil, "\(String(describing: garbage))")
        let good = try await onThread {
            try TLSDialer(config: .client(trusting: c.ca)).dial("tcp", address).readToEnd()
        }
        #expect(good == Array("Hello World!\r\n".utf8))
        // The silent one is cut off when its handshake time runs out: EOF, nothing else.
        let end = try await onThread { try silent.readToEnd() }
        #expect(end.isEmpty)
        #expect(ContinuousClock.now - start >= .milliseconds(900))
        silent.close()  // as a client does at EOF: it ends the server's lingering close (chapter 10)
        // The server closes a connection, then logs it: give the log line time to be written.
        await pause(.seconds(1))
        let result = try await server.stop()
        #expect(result.status == 0)
        #expect(result.stderr.contains(": tls: http request\n"), "\(result.stderr)")
        #expect(result.stderr.contains(": i/o timeout\n"), "\(result.stderr)")
    }

    @Test func noDescriptorOrOpenSSLObjectLeaksOverManyHandshakes() async throws {
        let c = try await Certificates.shared()
        let rounds = (warmup: 20, measured: 200)
        let failing = 20  // clients that fail: plain-text garbage, and verification refusals
        let total = rounds.warmup + rounds.measured + failing + 1  // the last one ends the server
        let server = try await tlsServer(c.localhost, ["--count", "\(total)"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        let good = TLSConfig.client(trusting: c.ca)
        let wrongName = {
            var config = good; config.serverName = "elsewhere.test"; return config
        }()
        func handshakes(_ count: Int) async throws {
            try await onThread {
                for _ in 0..<count { _ = try TLSDialer(config: good).dial("tcp", address).readToEnd() }
            }
        }
        try await handshakes(rounds.warmup)
        let before = try await settledDescriptors(of: pid)
        let rssBefore = residentKilobytes(of: pid)
        try await handshakes(rounds.measured)
        try await onThread {
            for index in 0..<failing {
                if index % 2 == 0 {
                    let plain = try dial("tcp", address)
                    try plain.write("garbage, not TLS at all\r\n")
                    _ = try? plain.readToEnd()
                    plain.close()
                } else {
                    #expect(netError { _ = try TLSDialer(config: wrongName).dial("tcp", address) } != nil)
                }
            }
        }
        let after = try await settledDescriptors(of: pid, towards: before)
        let rssAfter = residentKilobytes(of: pid)
        #expect(
            after == before,
            "descriptors: \(before) after warm-up, \(after) after \(rounds.measured + failing) more clients")
        // Loose: a leaked SSL with its buffers is tens of kilobytes; 220 of them would be megabytes.
        #expect(
            sanitized || rssAfter - rssBefore < 3_000, "resident memory grew from \(rssBefore) kB to \(rssAfter) kB")
        try await handshakes(1)
        let result = try await server.wait()
        #expect(result.status == 0)
        #expect(result.lines.last == "done: \(total) clients; OpenSSL objects still alive: 1 (the context)")
    }

    @Test func badCertificateFilesAreOneLineExitOne() async throws {
        let c = try await Certificates.shared()
        expectNetworkError(
            try await runLab(
                "tls-server", ["--listen", "127.0.0.1:0", "--cert", "/nonexistent.pem", "--key", c.localhost.keyFile]),
            "open /nonexistent.pem: no such file or directory")
        expectNetworkError(
            try await runLab(
                "tls-server",
                ["--listen", "127.0.0.1:0", "--cert", c.localhost.certificateFile, "--key", c.elsewhere.keyFile]),
            "tls: private key does not match public key")
        let run = try await runLab(
            "tls-server", ["--listen", "127.0.0.1:0", "--cert", c.localhost.keyFile, "--key", c.localhost.keyFile])
        #expect(
            run.status == 1 && run.stderr.hasPrefix("tls: load certificate from ")
                && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test(arguments: [
        ["--listen", "127.0.0.1:0"], ["--listen", "127.0.0.1:0", "--cert", "x"], ["--cert", "x", "--key", "y"],
        ["--listen", "localhost"], ["--listen", "127.0.0.1:0", "--cert", "x", "--key", "y", "--count", "0"],
        ["--listen", "127.0.0.1:0", "--cert", "x", "--key", "y", "--handshake-timeout", "5"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) async throws {
        let run = try await runLab("tls-server", arguments)
        expectUsageError(run, mentioning: "--")
    }
}

/// How many descriptors process `pid` has open, once its connection threads have caught
/// up: polled until it reaches `target` (or stays put), for at most 5 s.
func settledDescriptors(of pid: Int32, towards target: Int? = nil) async throws -> Int {
    try await onThread {
        func count() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }
        var last = count()
        for _ in 0..<50 {
            pause(.milliseconds(100))
            let now = count()
            if now == target || (target == nil && now == last) { return now }
            last = now
        }
        return last
    }
}

/// VmRSS of process `pid`, in kilobytes.
func residentKilobytes(of pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}
