// Lab 8 `dial-timeout`: `--dial ADDR --timeout D [--read-timeout D]` connects within D (a
// nonblocking connect, poll(POLLOUT) until the deadline, SO_ERROR), then copies what the
// server sends until EOF. The checks make a connect really hang (a full accept queue on
// loopback), refuse one, serve one, and go silent on one.
import Sockets

enum Lab08: GradedLab {
    static let grading = LabGrading(
        number: 8, executable: "dial-timeout", chapter: "Chapters/08-dial-timeout.md",
        hints: [
            "A blocking connect() waits for the handshake as long as the kernel keeps resending the SYN: minutes. Make "
                + "the socket nonblocking, `Socket(family: address.family, type: .stream, nonblocking: true)`, and "
                + "`socket.connect(address)` returns at once: true (connected already) or false (EINPROGRESS, under way).",
            "While the handshake is under way, sleep in poll() until the socket is writable: "
                + "`socket.wait(for: .writable, until: deadline)`. It returns false when the deadline passed first: "
                + "return nil then, and the dial fails with `i/o timeout`.",
            "Writable means the handshake is over, not that it worked. `socket.pendingError()` reads SO_ERROR: 0 is "
                + "connected; anything else is the errno a blocking connect would have given, "
                + "`throw SystemError(call: \"connect\", code: code)` (ECONNREFUSED: `connect: connection refused`).",
            "Once connected, `try socket.setNonblocking(false)` and return the socket: the reads that follow are "
                + "ordinary blocking reads (with a deadline when --read-timeout asks for one).",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--dial", "127.0.0.1:1"], mentioning: "--timeout"),
            hangingConnectTimesOut, refusedAtOnce, copiesALiveServer, dialsIPv6, readDeadline, negativeTimeout,
            slowSpeakerIsConnected,
        ])

    static let slowSpeakerIsConnected = Check(
        "a server that speaks only after 1s: connected at once (POLLOUT), --timeout 500ms is the connect's alone",
        points: 2, section: "Underneath: the system calls"
    ) { c in
        let hello = Array("Hello, after a pause\r\n".utf8)
        let server = try c.tcpServer { connection in
            pause(.seconds(1))
            try connection.write(hello)
        }
        c.note("peer: accepts at once (the kernel finishes the handshake), says nothing for 1s, then \(excerpt(hello))")
        let run = try c.run(["--dial", server.address, "--timeout", "500ms"], within: .seconds(6))
        if run.status == 1 && run.stderr.contains("i/o timeout") {
            throw CheckFailure(
                "the lab gave up with \(excerpt(run.stderr)), but the connection was made at once: a connect in "
                    + "progress is done when the socket is writable (poll for POLLOUT), not readable; readable only "
                    + "means the server has sent something, which a server need not do first")
        }
        try c.expectExit(run, 0, "the lab must connect, copy what the server sends, and exit 0 at EOF")
        try Lab03.expectCopy(run, hello)
    }

    static let hangingConnectTimesOut = Check(
        "a connect that hangs (a full accept queue) gives up after --timeout 500ms: i/o timeout", points: 4,
        section: "Underneath: the system calls"
    ) { c in
        let full = try c.fullQueue()
        let run = try c.run(["--dial", full.description, "--timeout", "500ms"], within: .seconds(6))
        if run.killed {
            throw c.failure(
                "nobody answers a SYN sent to a full accept queue, and the lab was still waiting "
                    + "\(seconds(run.duration)) later, with --timeout 500ms: a blocking connect() waits as long as the "
                    + "kernel resends the SYN (minutes); connect on a nonblocking socket, then poll(POLLOUT) with the time "
                    + "left until the deadline, and fail with i/o timeout when poll says the time is up", run)
        }
        try c.expectExit(run, 1, "a dial that times out is a network error: exit 1")
        let want = "dial tcp \(full): i/o timeout\n"
        guard run.stderr == want else {
            throw CheckFailure("expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr))")
        }
        if run.duration < .milliseconds(480) {
            throw CheckFailure(
                "it gave up after \(seconds(run.duration)), before the 500ms asked: wait in poll() "
                    + "until the deadline itself")
        }
        if run.duration > .seconds(3) {
            throw CheckFailure(
                "it took \(seconds(run.duration)) to give up, for a 500ms timeout: poll() must be given "
                    + "the time left until the deadline, not more")
        }
    }

    static let refusedAtOnce = Check(
        "a refused connect fails at once, with its reason from SO_ERROR", points: 2,
        section: "Underneath: the system calls"
    ) { c in
        let port = try c.closedPort()
        c.note("peer: nobody listens on 127.0.0.1:\(port)")
        let run = try c.run(["--dial", "127.0.0.1:\(port)", "--timeout", "10s"], within: .seconds(6))
        if run.killed {
            throw c.failure(
                "the kernel answered the SYN with a RST at once, but the lab was still waiting "
                    + "\(seconds(run.duration)) later: poll() wakes when the handshake is over, refused included", run)
        }
        try c.expectExit(run, 1, "a refused connection is a network error: exit 1")
        let want = "dial tcp 127.0.0.1:\(port): connect: connection refused\n"
        guard run.stderr == want else {
            throw CheckFailure(
                "expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr)): once poll() says "
                    + "writable, the handshake is over, one way or the other; SO_ERROR (`socket.pendingError()`) says "
                    + "which, and a nonzero errno there is the connect's failure")
        }
        if run.duration > .seconds(3) {
            throw CheckFailure(
                "a refusal is an answer, not silence: it should not wait for the 10s timeout "
                    + "(it took \(seconds(run.duration)))")
        }
    }

    static let copiesALiveServer = Check(
        "connects to a live server and copies its 100000 bytes until EOF", points: 3,
        section: "Underneath: the system calls"
    ) { c in
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 251) }
        let server = try c.tcpServer { try $0.write(bytes) }
        c.note("peer: on connect, sends 100000 bytes (every byte value), then closes")
        let run = try c.run(["--dial", server.address, "--timeout", "2s"], within: .seconds(6))
        try c.expectExit(run, 0, "the lab must connect, copy every byte, and exit 0 at EOF")
        try Lab03.expectCopy(run, bytes)
    }

    static let dialsIPv6 = Check(
        "dials an IPv6 address ([::1]:PORT)", points: 1, section: "Underneath: the system calls"
    ) { c in
        let hello = Array("Hello World!\r\n".utf8)
        let server = try c.tcpServer(host: "::1") { try $0.write(hello) }
        c.note("peer: sends \(excerpt(hello)), then closes")
        let run = try c.run(["--dial", server.address, "--timeout", "2s"], within: .seconds(6))
        try c.expectExit(run, 0, "the lab must connect over IPv6 (a socket of the address's family), copy, and exit 0")
        try Lab03.expectCopy(run, hello)
    }

    static let readDeadline = Check(
        "--read-timeout 300ms: a server that goes silent ends in i/o timeout", points: 2, section: "The Go you know"
    ) { c in
        let partial = Array("partial".utf8)
        let server = try c.tcpServer { connection in
            try connection.write(partial)
            connection.setReadDeadline(.after(.seconds(3)))
            _ = try? connection.read(maxLength: 1)  // until the lab hangs up, or 3s
        }
        c.note("peer: sends \"partial\", then nothing until the lab hangs up (closing itself after 3s)")
        let run = try c.run(
            ["--dial", server.address, "--timeout", "2s", "--read-timeout", "300ms"], within: .seconds(6))
        if !run.killed && run.status == 0 {
            throw CheckFailure(
                "the lab waited for the server's close (\(seconds(run.duration))): with --read-timeout 300ms, "
                    + "a read that has waited 300ms for bytes must fail with i/o timeout")
        }
        try c.expectExit(run, 1, "a read that times out is a network error: exit 1")
        guard run.stdout == partial else {
            throw CheckFailure(
                "the bytes before the silence should be copied: expected \(excerpt(partial)), "
                    + "got \(excerpt(run.stdout))")
        }
        guard run.stderr.hasPrefix("read tcp "), run.stderr.hasSuffix("->\(server.address): i/o timeout\n") else {
            throw CheckFailure(
                "expected one line `read tcp LOCAL->\(server.address): i/o timeout`, got \(excerpt(run.stderr))")
        }
        if run.duration < .milliseconds(280) || run.duration > .milliseconds(2500) {
            throw CheckFailure("it gave up after \(seconds(run.duration)); the read deadline was 300ms")
        }
    }

    static let negativeTimeout = Check(
        "--timeout -1s has already run out: i/o timeout, even to a live server", points: 1, section: "The Go you know"
    ) { c in
        let live = try Listener("tcp", "127.0.0.1:0")
        c.onCleanup { live.close() }
        c.note("peer: TCP listener on \(live.address) (the kernel completes every handshake)")
        let run = try c.run(["--dial", live.address.description, "--timeout", "-1s"], within: .seconds(5))
        try c.expectExit(run, 1, "a dial whose deadline has passed is a network error: exit 1")
        let want = "dial tcp \(live.address): i/o timeout\n"
        guard run.stderr == want else {
            throw CheckFailure(
                "expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr)): as in Go, a "
                    + "negative timeout is a deadline already past")
        }
    }
}
