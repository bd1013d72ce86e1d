// Lab 1 `stream-and-datagram`: the lab has only its demo, so the checks read the demo's
// narration and hold it to what TCP and UDP really do: TCP keeps the bytes and their
// order but not the writes' boundaries; UDP keeps each datagram whole, or cuts it. Its two
// roles are checked from outside: the grader is the peer that writes and sends, so what the
// lab prints is what it really received.
import Foundation
import LabKit
import Sockets

enum Lab01: GradedLab {
    static let grading = LabGrading(
        number: 1, executable: "stream-and-datagram", chapter: "Chapters/01-stream-and-datagram.md",
        hints: [
            "`server.readFrom(maxLength:until:)` is one recvfrom(): it returns one whole datagram and who sent it. "
                + "Give it a deadline (`.after(.seconds(5))`) so a lost datagram cannot hang the demo.",
            "Say each datagram as `server: recvfrom() returned N bytes from SENDER: \"BYTES\"`, with `quoted(bytes)` "
                + "for the bytes and `sender.map(\\.description) ?? \"?\"` for the sender.",
            "A buffer smaller than the datagram cuts it short, and the rest is lost: 1024 bytes is plenty here.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["extra"], mentioning: "extra"),
            demoExitsZero, tcpKeepsBytesInOrder, tcpSplitsALargeWrite, udpKeepsDatagramsWhole, udpCutsALongDatagram,
            tcpRoleReadsToEOF, udpRoleKeepsEachDatagram,
            .stopsOnSIGTERM(["--udp-listen", "127.0.0.1:0"]),
        ])

    static let tcpRoleReadsToEOF = Check(
        "--tcp-listen: every byte of four writes, whatever the reads, then EOF", points: 3,
        section: "TCP is a stream of bytes"
    ) { c in
        let lab = try c.start(["--tcp-listen", "127.0.0.1:0", "--count", "1"])
        let address = try c.listeningAddress(lab)
        let client = try dial("tcp", address, timeout: c.remaining)
        defer { client.close() }
        try client.setNoDelay(true)
        // Writes of sizes the lab cannot guess, apart in time: the first reads see only the
        // early bytes, and the large one takes several reads (it is more than one read holds).
        let large = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let writes: [[UInt8]] = [Array("one".utf8), Array("two".utf8), Array("three".utf8), large]
        do {
            for bytes in writes {
                try client.write(bytes)
                c.note(
                    "peer: write() of \(bytes.count) bytes from \(client.localAddress?.description ?? "?"), then 150ms")
                c.pause(.milliseconds(150))
            }
            try client.closeWrite()
            c.note("peer: shutdown(SHUT_WR): FIN, the end of the stream")
        } catch {
            c.note("peer: \(error): the lab closed the connection before the stream ended")
        }
        let run = c.finish(lab, within: .seconds(5))
        let all = writes.flatMap { $0 }
        let want =
            "\(client.localAddress?.description ?? "?"): \(all.count) bytes in "
        let line = run.stdoutLines.dropFirst().first ?? ""
        c.note("lab: \(excerpt(line))")
        guard line.hasPrefix(want), line.hasSuffix("reads, then EOF: \(quoted(Array(all.prefix(64))))") else {
            throw c.failure(
                "expected `\(want)R reads, then EOF: \"onetwothree…\"`: a read() returns what has arrived so far, "
                    + "not one write or one message; keep reading until read() returns 0 (EOF), then count", run)
        }
        try c.expectExit(run, 0, "after --count 1 connection the lab must exit 0")
    }

    static let udpRoleKeepsEachDatagram = Check(
        "--udp-listen: each datagram whole, from 0 to 65507 bytes", points: 3, section: "UDP keeps each datagram whole"
    ) { c in
        let sizes = [3, 0, 1500, 65_507, 5]
        let lab = try c.start(["--udp-listen", "127.0.0.1:0", "--count", "\(sizes.count)"])
        let target = try Address(try c.listeningAddress(lab))
        let sender = try c.udpSender()
        var expected: [String] = []
        for size in sizes {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: 65 + $0 % 26) }
            try sender.writeTo(bytes, target)
            c.note("peer: sendto() of one datagram of \(size) bytes from \(sender.localAddress)")
            expected.append("\(sender.localAddress): \(size) bytes: \(quoted(Array(bytes.prefix(64))))")
            c.pause(.milliseconds(50))
        }
        let run = c.finish(lab, within: .seconds(5))
        let got = Array(run.stdoutLines.dropFirst())
        for (index, want) in expected.enumerated() where index >= got.count || got[index] != want {
            let saw = index < got.count ? excerpt(got[index]) : "nothing"
            if sizes[index] == 0 {
                throw c.failure(
                    "expected \(excerpt(want)), got \(saw): an empty datagram is a datagram, and recvfrom() returns it "
                        + "as 0 bytes; that is not an end of anything (UDP has no stream to end)", run)
            }
            throw c.failure(
                "expected \(excerpt(want)), got \(saw): each recvfrom() returns exactly one datagram, whole, "
                    + "or cut to the buffer's size with the rest lost: size its buffer for the largest (65535 bytes)",
                run)
        }
        try c.expectExit(run, 0, "after --count \(sizes.count) datagrams the lab must exit 0")
    }

    static func demo(_ c: CheckContext) throws -> Finished {
        try c.runOnce([], within: .seconds(20))
    }

    static let demoExitsZero = Check(
        "the demo runs to its end and exits 0", points: 2, limit: .seconds(25),
        section: "The lab contract", chapter: "Chapters/README.md"
    ) { c in
        let run = try demo(c)
        try c.expectExit(run, 0, "the demo must run every part and exit 0")
    }

    static let tcpKeepsBytesInOrder = Check(
        "TCP: three writes come back as one stream, in order, then EOF", points: 3, limit: .seconds(25),
        section: "TCP is a stream of bytes"
    ) { c in
        let run = try demo(c)
        let reads = run.stdoutLines.filter {
            $0.hasPrefix("server: read() returned ") && !$0.contains("returned 0 bytes")
        }
        // `server: read() returned 11 bytes: "onetwothree"` → onetwothree
        let bytes = reads.compactMap { line in line.range(of: " bytes: ").map { line[$0.upperBound...] } }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }.joined()
        c.note(
            "demo: the client wrote \"one\", \"two\", \"three\"; the server's reads: \(reads.count), together \(excerpt(bytes))"
        )
        guard bytes == "onetwothree" else {
            throw c.failure("the server's reads should hold \"onetwothree\", every byte once, in order", run)
        }
        guard run.stdoutLines.contains("server: read() returned 0 bytes: end of stream") else {
            throw c.failure(
                "after the bytes, read() returns 0 (end of stream); the demo should say so and stop reading", run)
        }
    }

    static let tcpSplitsALargeWrite = Check(
        "TCP: one 200000-byte write arrives as several reads", points: 2, limit: .seconds(25),
        section: "TCP is a stream of bytes"
    ) { c in
        let run = try demo(c)
        guard let line = run.stdoutLines.first(where: { $0.contains("reads of at most 65536 bytes") }) else {
            throw c.failure("expected a line `server: N reads of at most 65536 bytes, 200000 bytes in all, …`", run)
        }
        c.note("demo: \(line)")
        let words = line.split(separator: " ")
        guard words.count > 1, let reads = Int(words[1]), reads >= 4, line.contains("200000 bytes in all") else {
            throw CheckFailure("200000 bytes read 65536 at a time take at least 4 reads, and every byte must arrive")
        }
    }

    static let udpKeepsDatagramsWhole = Check(
        "UDP: three sendto, three recvfrom, each datagram whole", points: 3, limit: .seconds(25),
        section: "UDP keeps each datagram whole"
    ) { c in
        let run = try demo(c)
        let lines = run.stdoutLines.filter { $0.hasPrefix("server: recvfrom() returned ") }
        c.note("demo: the client sent \"one\", \"two\", \"three\" as three datagrams")
        lines.forEach { c.note("demo: \($0)") }
        guard lines.count == 3 else {
            throw c.failure(
                "expected three lines `server: recvfrom() returned N bytes from SENDER: \"BYTES\"`, "
                    + "one per datagram; got \(lines.count)", run)
        }
        for (line, word) in zip(lines, ["one", "two", "three"]) {
            guard line.hasPrefix("server: recvfrom() returned \(word.count) bytes from 127.0.0.1:"),
                line.hasSuffix(": \"\(word)\"")
            else {
                throw CheckFailure(
                    "expected the datagram \"\(word)\" whole, \(word.count) bytes from 127.0.0.1:PORT; "
                        + "got \(excerpt(line)): each recvfrom() returns exactly one datagram, so size its buffer for the largest"
                )
            }
        }
    }

    static let udpCutsALongDatagram = Check(
        "UDP: a datagram longer than the buffer is cut, the rest lost", points: 1, limit: .seconds(25),
        section: "UDP keeps each datagram whole"
    ) { c in
        let run = try demo(c)
        let want = "server: recvfrom() with a 4-byte buffer returned \"0123\"; the next recvfrom() returned \"next\""
        guard run.stdoutLines.contains(want) else {
            throw c.failure("expected the line \(excerpt(want))", run)
        }
    }
}
