// Lab 4 `nonblocking-recvfrom`: `--listen ADDR [--count N] [--timeout D]` on a nonblocking
// UDP socket. With nothing queued, recvfrom says EAGAIN at once; the lab must then sleep in
// poll() (not spin, not give up) until a datagram comes or the deadline passes.
import Sockets

enum Lab04: GradedLab {
    static let grading = LabGrading(
        number: 4, executable: "nonblocking-recvfrom", chapter: "Chapters/04-nonblocking-recvfrom.md",
        hints: [
            "On a nonblocking socket, `conn.socket.receiveFrom()` never waits: it returns `.done(datagram)` when one "
                + "is queued, and `.wouldBlock` (EAGAIN) when none is yet. EAGAIN is not an error.",
            "On `.wouldBlock`, sleep in poll() until the socket is readable: `conn.socket.wait(for: .readable, until: "
                + "deadline)`. Then go round the loop and call receiveFrom() again.",
            "Calling receiveFrom() again straight away, without poll(), works but burns a whole CPU while nothing "
                + "arrives: a busy loop.",
            "`wait` returns false when the deadline passed first: then throw `NetError(op: \"read\", network: \"udp\", "
                + "remote: conn.localAddress.description, reason: .timeout)`, which prints `read udp ADDR: i/o timeout`.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "127.0.0.1:0", "--count", "0"], mentioning: "--count"),
            printsEachDatagram, sleepsInPoll, timeoutIsAnIOTimeout, listensOnIPv6, escapesControlBytes,
            .stopsOnSIGTERM(["--listen", "127.0.0.1:0"]),
        ])

    static let eagainIsNotAnError =
        "with nothing queued, recvfrom() on a nonblocking socket fails at once with EAGAIN: "
        + "that means `nothing yet`, not an error; sleep in poll(POLLIN) until the socket is readable, then call recvfrom() again"

    static let printsEachDatagram = Check(
        "waits through EAGAIN and prints each datagram as FROM: PAYLOAD", points: 4, section: "Waiting with poll()"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0", "--count", "3", "--timeout", "20s"])
        let target = try Address(try c.listeningAddress(lab))
        let sender = try c.udpSender()
        c.pause(.milliseconds(300))
        try expectStillWaiting(c, lab, "the lab ended before any datagram was sent")
        for word in ["one", "two", "three"] {
            try sender.writeTo(Array(word.utf8), target)
            c.note("peer: sendto(\(excerpt(word))) from \(sender.localAddress), then 200ms of nothing")
            c.pause(.milliseconds(200))
        }
        let run = c.finish(lab, within: .seconds(5))
        if run.killed && run.stdoutLines.count < 4 {
            throw CheckFailure(
                "three datagrams were sent, but the lab printed \(run.stdoutLines.count - 1) of them and was "
                    + "still waiting: after poll() says readable, call recvfrom() again")
        }
        try c.expectExit(run, 0, "after --count 3 datagrams the lab must exit 0")
        try expectLines(run, ["one", "two", "three"].map { "\(sender.localAddress): \($0)" })
    }

    static let sleepsInPoll = Check(
        "sleeps in poll() while nothing arrives (no busy loop)", points: 3, section: "Waiting with poll()"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0", "--count", "1", "--timeout", "20s"])
        let target = try Address(try c.listeningAddress(lab))
        c.pause(.milliseconds(200))
        try expectStillWaiting(c, lab, "the lab ended while nothing was sent")
        guard let before = lab.cpuTime() else { throw CheckError("cannot read the lab's CPU time from /proc") }
        c.pause(.milliseconds(1500))
        let used = (lab.cpuTime() ?? before) - before
        try expectStillWaiting(c, lab, "the lab ended while nothing was sent")
        c.note("grader: nothing sent for 1.5s; meanwhile the lab used \(seconds(used)) of CPU time")
        let sender = try c.udpSender()
        try sender.writeTo(Array("wake up".utf8), target)
        c.note("peer: sendto(\"wake up\") from \(sender.localAddress)")
        let run = c.finish(lab, within: .seconds(5))
        if used > .milliseconds(150) {  // waiting in poll() takes none at all
            throw CheckFailure(
                "it used \(seconds(used)) of CPU in 1.5s of waiting for nothing: a busy loop, calling "
                    + "recvfrom() again and again on EAGAIN; sleep in poll(POLLIN) instead, which uses no CPU while it waits"
            )
        }
        try c.expectExit(run, 0, "after --count 1 datagram the lab must exit 0")
        try expectLines(run, ["\(sender.localAddress): wake up"])
    }

    static let timeoutIsAnIOTimeout = Check(
        "--timeout 300ms with nothing sent: `read udp ADDR: i/o timeout`, exit 1", points: 3,
        section: "Waiting with poll()"
    ) { c in
        let run = try c.run(["--listen", "127.0.0.1:0", "--timeout", "300ms"], within: .seconds(5))
        if run.killed {
            throw CheckFailure(
                "nothing was sent and --timeout 300ms passed, but the lab was still waiting "
                    + "\(seconds(run.duration)) later: give poll() the time left until the deadline, and when it returns "
                    + "with nothing ready, fail with i/o timeout")
        }
        try c.expectExit(run, 1, "a timeout is a network error: exit 1")
        guard let first = run.stdoutLines.first, first.hasPrefix("listening on ") else {
            throw CheckFailure("the first line must be `listening on HOST:PORT`; stdout was \(excerpt(run.stdout))")
        }
        if run.duration < .milliseconds(290) {
            throw CheckFailure(
                "it gave up after \(seconds(run.duration)), before the 300ms timeout: EAGAIN is not a "
                    + "timeout, it only says nothing is queued yet; \(eagainIsNotAnError)")
        }
        let want = "read udp \(first.dropFirst("listening on ".count)): i/o timeout\n"
        guard run.stderr == want else {
            throw CheckFailure("expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr))")
        }
    }

    static let listensOnIPv6 = Check("listens on IPv6 ([::1]:0)", points: 2, section: "Waiting with poll()") { c in
        let lab = try c.start(["--listen", "[::1]:0", "--count", "1", "--timeout", "20s"])
        let target = try Address(try c.listeningAddress(lab))
        c.pause(.milliseconds(200))
        let sender = try c.udpSender(host: "::1")
        try sender.writeTo(Array("over six".utf8), target)
        c.note("peer: sendto(\"over six\") from \(sender.localAddress)")
        let run = c.finish(lab, within: .seconds(5))
        try c.expectExit(run, 0, "after --count 1 datagram the lab must exit 0")
        try expectLines(run, ["\(sender.localAddress): over six"])
    }

    static let escapesControlBytes = Check(
        "one line per datagram: a trailing newline dropped, other control bytes escaped", points: 1,
        section: "The lab contract", chapter: "Chapters/README.md"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0", "--count", "2", "--timeout", "20s"])
        let target = try Address(try c.listeningAddress(lab))
        let sender = try c.udpSender()
        // Sent once the lab is surely waiting, never before its first recvfrom(): otherwise
        // whether it meets EAGAIN (and a stub) would be a race, and the grade would vary.
        c.pause(.milliseconds(300))
        try expectStillWaiting(c, lab, "the lab ended before any datagram was sent")
        for payload in ["tab\there", "crlf\r\n"] {
            try sender.writeTo(Array(payload.utf8), target)
            c.note("peer: sendto(\(excerpt(payload))) from \(sender.localAddress)")
        }
        let run = c.finish(lab, within: .seconds(5))
        try c.expectExit(run, 0, "after --count 2 datagrams the lab must exit 0")
        try expectLines(run, ["\(sender.localAddress): tab\\there", "\(sender.localAddress): crlf"])
    }

    /// The lab must still be running (waiting for a datagram); if it ended, say why that is wrong.
    static func expectStillWaiting(_ c: CheckContext, _ lab: LabProcess, _ what: String) throws {
        guard !lab.isRunning else { return }
        let run = c.finish(lab)
        throw c.failure("\(what) (\(run.summary)): \(eagainIsNotAnError)", run)
    }

    /// After `listening on`, stdout must be exactly these lines.
    static func expectLines(_ run: Finished, _ expected: [String]) throws {
        let got = Array(run.stdoutLines.dropFirst())
        guard got == expected else {
            throw CheckFailure(
                "expected these lines after `listening on`: \(expected.map { excerpt($0) }.joined(separator: ", ")); "
                    + "got \(got.isEmpty ? "none" : got.map { excerpt($0) }.joined(separator: ", "))")
        }
    }
}
