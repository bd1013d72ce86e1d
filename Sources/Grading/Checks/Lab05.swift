import DNS
// Lab 5 `lookup-host`: `NAME` asks getaddrinfo (only names this machine answers itself are
// asked here: numeric ones, `localhost` when /etc/hosts has it); `--server ADDR NAME` asks a
// DNS server directly, which the checks start on loopback for a zone under `test.`: plain
// answers, a CNAME chain, records slipped in about other names, NXDOMAIN, SERVFAIL, silence.
import Foundation
import Sockets

enum Lab05: GradedLab {
    static let grading = LabGrading(
        number: 5, executable: "lookup-host", chapter: "Chapters/05-lookup-host.md",
        hints: [
            "`resolver.exchange(question)` asks one question, with its tries, and returns the reply, or throws a "
                + "`LookupError`. Add each address of the reply that answers the question to `found`, once.",
            "A reply's answer section may start with CNAME records: `alias.test` is another name for `host.test`, "
                + "which has the addresses. Start at the asked name; while a CNAME record is owned by the current name, "
                + "move to its target (`case .name(let target) = record.data`), each name at most once.",
            "Then take only the records of the asked type (`question.type`) owned by the name you ended at: a server "
                + "may only tell you about what you asked, and a record about any other name is ignored.",
            "When `exchange` throws, keep the error (named by the name as written). NXDOMAIN (`error.isNotFound`) is "
                + "final, and a server that never answered (`error.isTimeout`) will not answer the AAAA query either: "
                + "if nothing was found yet, `break`. Other failures (SERVFAIL) let the AAAA query try.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--server", "127.0.0.1:53"], mentioning: "NAME"),
            numericNames, localhostFromHosts, notADNSName,
            answersAThenAAAA, followsCNAMEs, ignoresOtherNames, nxdomainIsFinal, silenceTimesOut, servfailIsRetried,
            repeatedOnce, cnameLoopEnds,
        ])

    // MARK: getaddrinfo

    static let numericNames = Check(
        "getaddrinfo: a numeric name comes back as written", points: 1, section: "getaddrinfo"
    ) { c in
        for name in ["127.0.0.1", "::1"] {
            let run = try c.run([name], within: .seconds(5))
            try c.expectExit(run, 0, "a numeric name must print itself and exit 0")
            guard run.stdoutLines == [name] else {
                throw CheckFailure("expected the one line \(excerpt(name)), got \(excerpt(run.stdout))")
            }
        }
    }

    static let localhostFromHosts = Check(
        "getaddrinfo: localhost gives every address getaddrinfo gives, in its order, once each", points: 1,
        section: "getaddrinfo"
    ) { c in
        // Ask about localhost only if /etc/hosts answers it: otherwise glibc would ask DNS.
        let hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? ""
        let listed = hosts.split(separator: "\n").contains {
            !$0.hasPrefix("#") && $0.split(whereSeparator: \.isWhitespace).dropFirst().contains("localhost")
        }
        guard listed else {
            c.note("grader: /etc/hosts has no localhost line on this machine: nothing to ask that stays local")
            return
        }
        let want = try Resolver.lookupHost("localhost")
        c.note("grader: getaddrinfo(\"localhost\") here says \(want.joined(separator: " "))")
        let run = try c.run(["localhost"], within: .seconds(5))
        try c.expectExit(run, 0, "a name that resolves must print its addresses and exit 0")
        guard run.stdoutLines == want else {
            throw CheckFailure(
                "expected \(want.map { excerpt($0) }.joined(separator: ", ")), one per line, got "
                    + "\(excerpt(run.stdout))")
        }
    }

    static let notADNSName = Check(
        "getaddrinfo: a name that cannot exist is `lookup NAME: no such host`, exit 1", points: 1,
        section: "getaddrinfo"
    ) { c in
        let run = try c.run(["no..such"], within: .seconds(5))
        try c.expectExit(run, 1, "a failed lookup is an error: exit 1")
        let want = "lookup no..such: no such host\n"
        guard run.stderr == want, run.stdout.isEmpty else {
            throw CheckFailure(
                "expected nothing on stdout and exactly \(excerpt(want)) on stderr, got \(excerpt(run.stdout)) "
                    + "and \(excerpt(run.stderr))")
        }
    }

    // MARK: The stub resolver against our own DNS server

    static func name(_ text: String) -> DNSName { DNSName(text)! }  // our own constants, all valid

    static let hostAddresses = ["127.0.0.9", "127.0.0.10", "2001:db8::9"]

    static let zone = DNSPeer.Zone(
        records: [
            .address(name("host.grade.test"), IP("127.0.0.9")!),
            .address(name("host.grade.test"), IP("127.0.0.10")!),
            .address(name("host.grade.test"), IP("2001:db8::9")!),
            .cname(name("www.grade.test"), name("host.grade.test")),
            .cname(name("alias.grade.test"), name("www.grade.test")),
            .address(name("sneaky.grade.test"), IP("127.0.0.11")!),
            // A hostile server's answers: an address said twice, a chain of aliases that loops.
            .address(name("twice.grade.test"), IP("127.0.0.12")!),
            .address(name("twice.grade.test"), IP("127.0.0.12")!),
            .cname(name("loop.grade.test"), name("loop2.grade.test")),
            .cname(name("loop2.grade.test"), name("loop.grade.test")),
        ],
        failing: [name("broken.grade.test")],
        silent: [name("silent.grade.test")],
        extras: [
            name("sneaky.grade.test"): [
                .address(name("other.grade.test"), IP("127.0.0.66")!),
                .cname(name("sneaky.grade.test.other"), name("host.grade.test")),
            ]
        ])

    /// Runs `lookup-host --server SERVER ARGUMENTS…`, with a DNS server for `zone`.
    static func ask(_ c: CheckContext, _ arguments: [String]) throws -> (Finished, DNSPeer) {
        let server = try c.dnsServer(zone)
        let run = try c.run(["--server", server.address.description] + arguments, within: .seconds(6))
        let asked = server.questions
        c.note(
            "peer: the DNS server was asked \(asked.count) question\(asked.count == 1 ? "" : "s")"
                + (asked.isEmpty ? "" : ": " + asked.map { "\($0.type) \($0.name)" }.joined(separator: ", ")))
        return (run, server)
    }

    static func types(_ server: DNSPeer) -> [String] { server.questions.map(\.type.description) }
    static func asked(_ server: DNSPeer) -> String {
        server.questions.isEmpty ? "nothing" : types(server).joined(separator: ", ")
    }

    static let answersAThenAAAA = Check(
        "--server: the A addresses, then the AAAA ones, one per line", points: 3, section: "A stub resolver of our own"
    ) { c in
        c.note("peer: host.grade.test has A 127.0.0.9, A 127.0.0.10 and AAAA 2001:db8::9")
        let (run, server) = try ask(c, ["host.grade.test"])
        try c.expectExit(run, 0, "a name with addresses must print them and exit 0")
        guard run.stdoutLines == hostAddresses else {
            throw CheckFailure(
                "expected the lines \(hostAddresses.joined(separator: ", ")), got \(excerpt(run.stdout)): "
                    + "an A query, then an AAAA query, and the addresses of both, each once")
        }
        guard types(server) == ["A", "AAAA"] else {
            throw CheckFailure("expected one A query, then one AAAA query; the server was asked \(asked(server))")
        }
    }

    static let followsCNAMEs = Check(
        "--server: follows a CNAME chain to the addresses at its end", points: 3, section: "A stub resolver of our own"
    ) { c in
        c.note(
            "peer: alias.grade.test is a CNAME of www.grade.test, itself a CNAME of host.grade.test; each reply "
                + "carries the whole chain, then host.grade.test's addresses")
        let (run, _) = try ask(c, ["alias.grade.test"])
        if run.status == 1 && run.stderr.contains("no such host") {
            throw CheckFailure(
                "the lab said \(excerpt(run.stderr)), but the replies held the addresses: the records owned "
                    + "by alias.grade.test itself are CNAMEs; follow each CNAME from the asked name to its target, then take "
                    + "the addresses owned by the last name of the chain")
        }
        try c.expectExit(run, 0, "a name with addresses must print them and exit 0")
        guard run.stdoutLines == hostAddresses else {
            throw CheckFailure(
                "expected \(hostAddresses.joined(separator: ", ")) (host.grade.test's, at the end of the "
                    + "CNAME chain), got \(excerpt(run.stdout))")
        }
    }

    static let ignoresOtherNames = Check(
        "--server: ignores records about names it did not ask for", points: 1, section: "A stub resolver of our own"
    ) { c in
        c.note(
            "peer: sneaky.grade.test has A 127.0.0.11; its replies also carry A 127.0.0.66 for other.grade.test "
                + "and a CNAME owned by another name")
        let (run, _) = try ask(c, ["sneaky.grade.test"])
        try c.expectExit(run, 0, "a name with addresses must print them and exit 0")
        guard run.stdoutLines == ["127.0.0.11"] else {
            throw CheckFailure(
                "expected only 127.0.0.11, got \(excerpt(run.stdout)): take the records owned by the "
                    + "name you asked about (or the end of its CNAME chain); a server may only tell you about what you asked"
            )
        }
    }

    static let repeatedOnce = Check(
        "--server: an address the reply repeats is printed once", points: 1, section: "A stub resolver of our own"
    ) { c in
        c.note("peer: twice.grade.test's replies carry A 127.0.0.12 twice")
        let (run, _) = try ask(c, ["twice.grade.test"])
        try c.expectExit(run, 0, "a name with addresses must print them and exit 0")
        guard run.stdoutLines == ["127.0.0.12"] else {
            throw CheckFailure(
                "expected 127.0.0.12 once, got \(excerpt(run.stdout)): a reply is a peer's data, and may repeat "
                    + "itself; take each address once")
        }
    }

    static let cnameLoopEnds = Check(
        "--server: a CNAME loop ends (each name followed once): no such host, exit 1", points: 2,
        section: "A stub resolver of our own"
    ) { c in
        c.note("peer: loop.grade.test is a CNAME of loop2.grade.test, which is a CNAME of loop.grade.test")
        let (run, server) = try ask(c, ["loop.grade.test"])
        if run.killed {
            throw CheckFailure(
                "the lab was still running after \(seconds(run.duration)): the chain comes back to a name already "
                    + "seen; follow each name once (keep the names visited), and a loop ends with no addresses")
        }
        try c.expectExit(run, 1, "a name whose aliases loop has no addresses: a failed lookup, exit 1")
        let want = "lookup loop.grade.test on \(server.address): no such host\n"
        guard run.stderr == want else {
            throw CheckFailure("expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr))")
        }
    }

    static let nxdomainIsFinal = Check(
        "--server: NXDOMAIN is `no such host` after one query, exit 1", points: 3, section: "A stub resolver of our own"
    ) { c in
        let (run, server) = try ask(c, ["nosuch.grade.test"])
        try c.expectExit(run, 1, "a name that does not exist is a failed lookup: exit 1")
        let want = "lookup nosuch.grade.test on \(server.address): no such host\n"
        guard run.stderr == want, run.stdout.isEmpty else {
            throw CheckFailure(
                "expected nothing on stdout and exactly \(excerpt(want)) on stderr, got "
                    + "\(excerpt(run.stdout)) and \(excerpt(run.stderr))")
        }
        guard server.questions.count == 1 else {
            throw CheckFailure(
                "the server was asked \(asked(server)): NXDOMAIN is an answer, and final; a name that does "
                    + "not exist has no AAAA records either, and asking again gets the same answer: stop at the first")
        }
    }

    static let silenceTimesOut = Check(
        "--server: a server that never answers is an i/o timeout after 2 tries of 300ms, never a hang", points: 3,
        section: "A stub resolver of our own"
    ) { c in
        let (run, server) = try ask(c, ["--timeout", "300ms", "--attempts", "2", "silent.grade.test"])
        if run.killed {
            throw c.failure(
                "the lab was still waiting \(seconds(run.duration)) later: each try must wait at most "
                    + "--timeout", run)
        }
        try c.expectExit(run, 1, "a lookup that times out is a failed lookup: exit 1")
        let prefix = "lookup silent.grade.test on \(server.address): "
        guard run.stderr.hasPrefix(prefix), run.stderr.hasSuffix(": i/o timeout\n") else {
            throw CheckFailure(
                "expected one line `\(prefix)read udp LOCAL->\(server.address): i/o timeout`, got "
                    + "\(excerpt(run.stderr))")
        }
        guard server.questions.count == 2 else {
            throw CheckFailure(
                "the server was asked \(asked(server)); expected the 2 tries of the A query and no more: "
                    + "a server that did not answer the A query will not answer the AAAA query either")
        }
        if run.duration < .milliseconds(580) {
            throw CheckFailure("it gave up after \(seconds(run.duration)): 2 tries of 300ms each take 600ms")
        }
    }

    static let servfailIsRetried = Check(
        "--server: SERVFAIL is worth another try: `server misbehaving` after 2 tries for A and 2 for AAAA", points: 1,
        section: "A stub resolver of our own"
    ) { c in
        let (run, server) = try ask(c, ["broken.grade.test"])
        try c.expectExit(run, 1, "a lookup nobody could answer is a failed lookup: exit 1")
        let want = "lookup broken.grade.test on \(server.address): server misbehaving\n"
        guard run.stderr == want else {
            throw CheckFailure("expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr))")
        }
        guard types(server) == ["A", "A", "AAAA", "AAAA"] else {
            throw CheckFailure(
                "the server was asked \(asked(server)); expected A, A, AAAA, AAAA: SERVFAIL says only that "
                    + "this server could not find out this time, so it does not end the lookup the way NXDOMAIN does")
        }
    }
}
