import DNS
// Lab 5 `lookup-host`: the demo's claims read back from its output, getaddrinfo checked
// against Python's (the same C library, called by another program), and `--server`
// against DNS servers on loopback: ours, one written in Python, and dnsmasq if installed.
// No test asks the machine's configured resolver about a name it would send out.
import Foundation
import Literate
import Sockets
import Testing

@Suite struct Lab05LookupHost {
    @Test func demoResolvesLocallyThenShowsARealExchange() async throws {
        let run = try await runLab("lookup-host")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.isEmpty)
        let out = run.stdoutLines
        for line in [
            "LookupHost(\"127.0.0.1\") = [127.0.0.1], <nil>", "LookupHost(\"::1\") = [::1], <nil>",
            "LookupHost(\"no..such\") = [], lookup no..such: no such host",
        ] {
            #expect(out.contains(line), "missing: \(line)")
        }
        // localhost, when /etc/hosts has it: the same list getaddrinfo gives this process.
        if let localhost = out.first(where: { $0.hasPrefix("LookupHost(\"localhost\")") }) {
            let expected = try await onThread { try Resolver.lookupHost("localhost") }
            #expect(localhost == "LookupHost(\"localhost\") = [\(expected.joined(separator: " "))], <nil>")
        }

        // The annotated bytes are the real messages: read them back and parse them.
        let query = try dumped(out, after: "the A query our stub sent for www.hello.test, ")
        let reply = try dumped(out, after: "the server's reply, ")
        let parsedQuery = try DNSMessage(parsing: query)
        #expect(parsedQuery.questions == [DNSQuestion(DNSName("www.hello.test")!, .a)])
        #expect(parsedQuery.header.recursionDesired && !parsedQuery.header.isResponse)
        let parsedReply = try DNSMessage(parsing: reply)
        #expect(parsedReply.header.id == parsedQuery.header.id && parsedReply.header.isResponse)
        #expect(parsedReply.answers.map(\.type) == [.cname, .a, .a])
        #expect(reply[32...33] == [0xC0, 0x0C], "the answer's name is a pointer to the question")
        #expect(out.contains("   32  c0 0c                     pointer to offset 12: www.hello.test"))

        let server = try #require(
            out.first { $0.hasPrefix("a tiny DNS server") }?.firstMatch(of: /udp (127\.0\.0\.1:[0-9]+)/)?.1)
        #expect(out.contains("LookupHost(\"www.hello.test\") on \(server) = [127.0.0.7 127.0.0.8 2001:db8::7], <nil>"))
        #expect(out.contains("LookupHost(\"nosuch.test\") = [], lookup nosuch.test on \(server): no such host"))
        #expect(out.contains("LookupHost(\"broken.test\") = [], lookup broken.test on \(server): server misbehaving"))
        let timeout = try Regex(
            "LookupHost\\(\"silent\\.test\"\\) = \\[\\], lookup silent\\.test on \(server): "
                + "read udp 127\\.0\\.0\\.1:[0-9]+->\(server): i/o timeout")
        #expect(out.contains { $0.wholeMatch(of: timeout) != nil })
        // How many queries the server saw for each: NXDOMAIN is final, SERVFAIL is retried.
        let counts = out.filter { $0.hasPrefix("   ") && $0.contains(" sent, ") }.map { $0.split(separator: " ")[0] }
        #expect(counts == ["1", "4", "2"], "\(counts)")
    }

    /// The bytes of the dump that follows the line starting with `heading`: the hex column
    /// of each line, checked against the offset column.
    func dumped(_ lines: [String], after heading: String) throws -> [UInt8] {
        let start = try #require(lines.firstIndex { $0.hasPrefix(heading) })
        let size = try #require(Int(lines[start].dropFirst(heading.count).prefix { $0.isNumber }))
        var bytes: [UInt8] = []
        for line in lines[(start + 1)...] {
            guard line.count > 7, let offset = Int(line.prefix(5).trimmingCharacters(in: .whitespaces)) else { break }
            #expect(offset == bytes.count, "offset column of: \(line)")
            bytes += line.dropFirst(7).prefix(24).split(separator: " ").compactMap { UInt8($0, radix: 16) }
        }
        #expect(bytes.count == size)
        return bytes
    }

    @Test func nameGivesWhatGetaddrinfoGivesPython() async throws {
        let hosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        try #require(
            hosts.split(separator: "\n").contains {
                !$0.hasPrefix("#") && $0.split(whereSeparator: \.isWhitespace).contains("localhost")
            },
            "this machine's /etc/hosts has no localhost: asking would go to DNS")
        // Python asks the same C library, without hints: one entry per socket type, so the
        // list repeats each address, and the lab must print each once, in the same order.
        let python = try PythonPeer(
            """
            import socket
            seen = []
            for *_, address in socket.getaddrinfo("localhost", None):
                if address[0] not in seen: seen.append(address[0])
            print(" ".join(seen), flush=True)
            """)
        let expected = try await python.firstLine().split(separator: " ").map(String.init)
        await python.stop()
        let run = try await runLab("lookup-host", ["localhost"])
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
        #expect(run.stdoutLines == expected)
    }

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1"), ("::1", "::1"), ("0:0:0::1", "0:0:0::1"), ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ])
    func numericNamesComeBackAsWritten(name: String, printed: String) async throws {
        let run = try await runLab("lookup-host", [name])
        #expect(run.status == 0)
        #expect(run.stdout == printed + "\n")
    }

    @Test(arguments: ["no..such", "", "bad_name-.test", "caf\u{e9}.test", String(repeating: "a", count: 300)])
    func namesThatCannotExistAreNoSuchHost(name: String) async throws {
        expectNetworkError(try await runLab("lookup-host", [name]), "lookup \(name): no such host")
    }

    // MARK: --server

    @Test(arguments: ["127.0.0.1", "::1"])
    func serverRolePrintsEveryAddress(host: String) async throws {
        let server = try FakeDNSServer(host: host) { query, _ in
            guard let query else { return [] }
            return [goodReply(query, helloAnswers(query.questions[0]))]
        }
        defer { server.stopSoon() }
        let run = try await runLab("lookup-host", ["--server", server.address.description, "www.hello.test"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines == ["127.0.0.7", "127.0.0.8", "2001:db8::7"])
    }

    @Test func serverRoleErrorsAreGoLinesAndExitOne() async throws {
        let server = try FakeDNSServer { query, _ in
            guard let query else { return [] }
            switch query.questions[0].name.description {
            case "silent.test": return []
            case "broken.test": return [goodReply(query, rcode: .serverFailure, [])]
            default: return [goodReply(query, rcode: .nameError, [])]
            }
        }
        defer { server.stopSoon() }
        let address = server.address.description
        expectNetworkError(
            try await runLab("lookup-host", ["--server", address, "nosuch.test"]),
            "lookup nosuch.test on \(address): no such host")
        expectNetworkError(
            try await runLab("lookup-host", ["--server", address, "broken.test"]),
            "lookup broken.test on \(address): server misbehaving")
        let start = ContinuousClock.now
        let silent = try await runLab(
            "lookup-host", ["--server", address, "--timeout", "200ms", "--attempts", "3", "silent.test"])
        let took = ContinuousClock.now - start
        #expect(silent.status == 1)
        #expect(
            silent.stderr.wholeMatch(
                of: try Regex(
                    "lookup silent\\.test on \(address): read udp 127\\.0\\.0\\.1:[0-9]+->\(address): i/o timeout\n"))
                != nil, "\(silent.stderr)")
        #expect(took >= .milliseconds(590) && took < .seconds(20), "three tries of 200ms took \(took)")
        #expect(server.received.filter { (try? DNSMessage.peek($0).1.name) == DNSName("silent.test") }.count == 3)
    }

    @Test func serverRoleReadsRepliesBuiltByPython() async throws {
        // An outside implementation of the wire format: Python checks our query field by
        // field and packs its reply by hand, compression pointers included.
        let python = try PythonPeer(
            """
            import socket, struct
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(20)
            print(s.getsockname()[1], flush=True)
            for _ in range(2):
                query, client = s.recvfrom(512)
                qid, flags, qd, an, ns, ar = struct.unpack("!6H", query[:12])
                labels, at = [], 12
                while query[at]:
                    labels.append(query[at + 1:at + 1 + query[at]].decode()); at += 1 + query[at]
                qtype, qclass = struct.unpack("!2H", query[at + 1:at + 5])
                ok = (flags == 0x0100 and (qd, an, ns, ar) == (1, 0, 0, 0) and labels == ["www", "py", "test"]
                      and qclass == 1 and qtype in (1, 28) and len(query) == at + 5)
                if not ok:
                    s.sendto(struct.pack("!6H", qid, 0x8181, 0, 0, 0, 0), client); continue
                # CNAME www.py.test -> py.test: owner C0 0C (the question), target C0 10 ("py.test" in it)
                cname = b"\\xc0\\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + b"\\xc0\\x10"
                if qtype == 1:
                    data = b"\\xc0\\x10" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 9])
                else:
                    data = b"\\xc0\\x10" + struct.pack("!HHIH", 28, 1, 60, 16) + bytes(15) + b"\\x09"
                s.sendto(struct.pack("!6H", qid, 0x8180, 1, 2, 0, 0) + query[12:at + 5] + cname + data, client)
            """)
        let port = try await python.firstLine()
        let run = try await runLab("lookup-host", ["--server", "127.0.0.1:\(port)", "www.py.test"])
        await python.stop()
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines == ["127.0.0.9", "::9"])
    }

    static let dnsmasq: String? = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: dnsmasq != nil, "dnsmasq is not installed (apt-get install dnsmasq-base to run this)"))
    func serverRoleAgainstDnsmasq() async throws {
        // A real DNS server, serving only records given here: --no-resolv, so it forwards
        // nothing to anyone. It cannot report a port it picked, so we find a free UDP port;
        // dnsmasq also wants that port for TCP, where another test's connection may hold it:
        // then dnsmasq exits at once, and we try another port.
        let executable = try #require(Self.dnsmasq)
        let started = try await onThread { () -> (Spawned, Address)? in
            for _ in 0..<5 {
                let probe = try PacketConn("udp", "127.0.0.1:0")
                let port = probe.localAddress.port
                probe.close()
                let dnsmasq = try Spawned(
                    executable,
                    [
                        "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=", "--no-resolv", "--no-hosts",
                        "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(port)",
                        "--host-record=hello.test,127.0.0.7,2001:db8::7", "--cname=www.hello.test,hello.test",
                        "--address=/nosuch.test/",
                    ])
                let server = try Address("127.0.0.1:\(port)")
                let deadline = Deadline.after(.seconds(10))  // until it answers, or gives up
                while !deadline.hasPassed && !dnsmasq.hasExited {
                    let resolver = StubResolver(server: server, timeout: .milliseconds(200), attempts: 1)
                    if (try? resolver.lookupHost("hello.test")) != nil { return (dnsmasq, server) }
                }
                dnsmasq.kill()
            }
            return nil
        }
        let (dnsmasq, server) = try #require(started, "dnsmasq did not start on any of 5 ports")
        defer { dnsmasq.killSoon() }
        let run = try await runLab("lookup-host", ["--server", server.description, "www.hello.test"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdoutLines == ["127.0.0.7", "2001:db8::7"])
        expectNetworkError(
            try await runLab("lookup-host", ["--server", server.description, "nosuch.test"]),
            "lookup nosuch.test on \(server): no such host")
    }

    @Test(arguments: [
        (["--server", "127.0.0.1:53"], "NAME"),
        (["--server", "localhost:53", "x.test"], "--server"),
        (["--server", "127.0.0.1", "x.test"], "--server"),
        (["--server", "127.0.0.1:0", "x.test"], "--server"),
        (["--timeout", "1s", "x.test"], "--timeout"),
        (["--server", "127.0.0.1:53", "--timeout", "0s", "x.test"], "--timeout"),
        (["--server", "127.0.0.1:53", "--timeout", "5", "x.test"], "--timeout"),
        (["--server", "127.0.0.1:53", "--attempts", "0", "x.test"], "--attempts"),
        (["a.test", "b.test"], "one NAME"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], mention: String) async throws {
        expectUsageError(try await runLab("lookup-host", arguments), mentioning: mention)
    }
}

/// A program started with posix_spawn and reaped here. (dnsmasq, like most daemons, closes
/// every descriptor it inherits; Foundation's `Process` takes that for the child's exit and
/// blocks in `waitpid`, which stalls every other `Process` of the test run.)
final class Spawned: Sendable {
    let pid: pid_t

    init(_ path: String, _ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_RDWR, 0) }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard status == 0 else { throw LabFailure("posix_spawn \(path): \(SystemError.message(for: status))") }
        self.pid = pid
    }

    @available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
    func kill() {
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    func kill() async { try? await onThread { [self] in kill() } }

    /// Whether it has ended (and then it is reaped).
    var hasExited: Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid
    }

    /// For a `defer` in an async test: kills and reaps on a thread of its own.
    func killSoon() { Thread { [self] in kill() }.start() }
}
