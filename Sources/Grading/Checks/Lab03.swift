// Lab 3 `blocking-read`: `--dial ADDR` copies every byte the server sends to stdout until
// EOF, which is the normal end (exit 0), not an error. The checks play the server.
import Sockets

enum Lab03: GradedLab {
    static let grading = LabGrading(
        number: 3, executable: "blocking-read", chapter: "Chapters/03-blocking-read.md",
        hints: [
            "`connection.read(into: &buffer)` sleeps until some bytes arrive, then returns how many: at least 1, "
                + "or 0 when the server has closed its end. Only 0 means the server is done.",
            "Bytes arrive in whatever pieces the network makes: one read() may hold part of what the server wrote, "
                + "or several writes at once. Keep calling read() until it returns 0.",
            "EOF is not an error: when read() returns 0, leave the loop and return normally, so the lab exits 0.",
            "Copy exactly `buffer[..<count]` with `writeRaw`: not the whole buffer, not through a String "
                + "(the bytes need not be text), no added newline.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--dial", "127.0.0.1"], mentioning: "--dial"),
            copiesUntilEOF, waitsForLateBytes, copiesBinaryUnchanged, dialsIPv6, refusedIsOneGoLine, resetIsAnError,
        ])

    static let hello = Array("Hello World!\r\n".utf8)

    static let copiesUntilEOF = Check(
        "copies what the server sends, then exits 0 at EOF", points: 4, section: "What a read returns"
    ) { c in
        let server = try c.tcpServer { try $0.write(hello) }
        c.note("peer: on connect, sends \(excerpt(hello)) (\(hello.count) bytes), then closes (FIN)")
        let run = try c.run(["--dial", server.address], within: .seconds(5))
        if run.killed {
            throw CheckFailure(
                "the server closed after \(hello.count) bytes, but blocking-read was still running "
                    + "\(seconds(run.duration)) later: at EOF read() returns 0, again and again; the loop must end there"
            )
        }
        try c.expectExit(
            run, 0,
            "after EOF the lab must exit 0: read() returning 0 means the server closed its end, "
                + "the normal end of the stream, not an error")
        try expectCopy(run, hello)
    }

    static let waitsForLateBytes = Check(
        "keeps reading while bytes arrive late (a read returns what is there)", points: 3,
        section: "What a read returns"
    ) { c in
        let server = try c.tcpServer { connection in
            try connection.write("Hello ")
            pause(.milliseconds(500))
            try connection.write("World!\r\n")
        }
        c.note("peer: sends \"Hello \", waits 500ms, sends \"World!\\r\\n\", then closes")
        let run = try c.run(["--dial", server.address], within: .seconds(6))
        try c.expectExit(run, 0, "the lab must copy both pieces and exit 0 at EOF")
        if run.stdout == Array("Hello ".utf8) {
            throw CheckFailure(
                "only \"Hello \" came out: the first read() returns what has arrived so far, "
                    + "not the whole message; keep reading until read() returns 0")
        }
        try expectCopy(run, hello)
    }

    static let copiesBinaryUnchanged = Check(
        "copies 100000 bytes of every value unchanged", points: 3, section: "What a read returns"
    ) { c in
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 31 + $0 / 256) }
        let server = try c.tcpServer { try $0.write(bytes) }
        c.note("peer: sends 100000 bytes (every byte value, \\0, \\r, \\n, 0xff included), then closes")
        let run = try c.run(["--dial", server.address], within: .seconds(6))
        try c.expectExit(run, 0, "the lab must exit 0 at EOF")
        try expectCopy(run, bytes)
    }

    static let dialsIPv6 = Check("dials an IPv6 address ([::1]:PORT)", points: 2, section: "What a read returns") { c in
        let server = try c.tcpServer(host: "::1") { try $0.write(hello) }
        c.note("peer: sends \(excerpt(hello)), then closes")
        let run = try c.run(["--dial", server.address], within: .seconds(5))
        try c.expectExit(run, 0, "the lab must connect over IPv6, copy, and exit 0 at EOF")
        try expectCopy(run, hello)
    }

    static let refusedIsOneGoLine = Check(
        "a refused connection is one Go-style line and exit 1", points: 2, section: "The lab contract",
        chapter: "Chapters/README.md"
    ) { c in
        let port = try c.closedPort()
        c.note("peer: nobody listens on 127.0.0.1:\(port)")
        let run = try c.run(["--dial", "127.0.0.1:\(port)"], within: .seconds(5))
        let want = "dial tcp 127.0.0.1:\(port): connect: connection refused\n"
        try c.expectExit(run, 1, "a network error must exit 1")
        guard run.stderr == want else {
            throw CheckFailure("expected exactly \(excerpt(want)) on stderr, got \(excerpt(run.stderr))")
        }
    }

    static let resetIsAnError = Check(
        "a reset mid-stream is an error (exit 1) after copying what came", points: 2, section: "What a read returns"
    ) { c in
        let partial = Array("partial".utf8)
        let server = try c.tcpServer { connection in
            try connection.write(partial)
            pause(.milliseconds(300))
            connection.reset()
        }
        c.note("peer: sends \"partial\", waits 300ms, then resets the connection (RST, not FIN)")
        let run = try c.run(["--dial", server.address], within: .seconds(5))
        try c.expectExit(run, 1, "a reset is not EOF: read() fails with ECONNRESET, and the lab must exit 1")
        guard run.stdout == partial else {
            throw CheckFailure(
                "the bytes before the reset should still be copied: expected \(excerpt(partial)), got \(excerpt(run.stdout))"
            )
        }
        guard run.stderr.hasPrefix("read tcp "), run.stderr.hasSuffix(": read: connection reset by peer\n") else {
            throw CheckFailure(
                "expected one Go-style line, `read tcp LOCAL->REMOTE: read: connection reset by peer`; "
                    + "got \(excerpt(run.stderr))")
        }
    }

    /// The lab's stdout must be exactly `bytes`.
    static func expectCopy(_ run: Finished, _ bytes: [UInt8]) throws {
        guard run.stdout != bytes else { return }
        let same = zip(run.stdout, bytes).prefix { $0 == $1 }.count
        var problem =
            "stdout differs from what the server sent (\(bytes.count) bytes) at byte \(same): "
            + "expected \(excerpt(Array(bytes[same...]), limit: 24)), got \(excerpt(Array(run.stdout[same...]), limit: 24))"
        if run.stdout == bytes + [0x0A] {
            problem += "; a newline was added after the last byte (print adds one, writeRaw does not)"
        } else if run.stdout.count > bytes.count {
            problem += "; were whole buffers written instead of buffer[..<count]?"
        } else if run.stdout.count < bytes.count {
            problem += "; some bytes never came out (a read loop that stopped early, or text decoding?)"
        } else {
            problem += "; the bytes were changed on the way (decoded as text?)"
        }
        throw CheckFailure(problem)
    }
}
