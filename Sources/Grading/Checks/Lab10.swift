// Lab 10 `framing`: messages on a byte stream. The server role must answer each message
// (4-byte big-endian length, then at most 1 MiB) however its bytes were split, answer a
// client that half-closed, refuse a length over the limit on that connection only, serve
// others while one client never reads, and close without a reset; the client role sends
// and prints; the demo's nonblocking send delivers everything to a slow reader.
import Foundation
import Sockets
import Synchronization

enum Lab10: GradedLab {
    static let grading = LabGrading(
        number: 10, executable: "framing", chapter: "Chapters/10-framing.md",
        hints: [
            "One read() is not one message: read the 4-byte header with `reader.readFull(4)` (nil means the client "
                + "closed between two messages: return nil), then the payload with `reader.readFull(length)`.",
            "The length is big-endian, most significant byte first: `header.reduce(0) { $0 << 8 | Int($1) }`. "
                + "`frame` does the opposite: `UInt8(length >> 24)`, `>> 16`, `>> 8`, then the lowest byte, then the payload.",
            "Check the length before you read the payload: a length over `maxPayload` (1 MiB) is a peer's lie or "
                + "a mistake; throw `reader.source.readFailure(...)`, so that connection ends with one logged line. "
                + "1 MiB itself is allowed.",
            "`answer` loops `while let payload = try readMessage(from: reader)`, writing each reply with "
                + "`writeMessage`; any error is logged once (`log(\"\\(error)\")`) and ends that connection only.",
            "Close with `defer { connection.closeGracefully() }`: a client may have sent bytes you never read, and a "
                + "plain close() then sends RST, which can destroy your last replies before the client reads them.",
            "`sendAll`: on `.done(count)` move on by `count` (it may be less than you asked: a partial write); on "
                + "`.wouldBlock` (EAGAIN) sleep in `socket.wait(for: .writable, until: nil)` (poll's POLLOUT), never spin.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--dial", "127.0.0.1:1"], mentioning: "MESSAGE"),
            .stopsOnSIGTERM(["--listen", "127.0.0.1:0"]),
            answersHoweverSplit, answersTheLimit, answersAHalfClose, refusesAnOverlongLength, servesWhileOneNeverReads,
            closesWithoutAReset, clientRole, demoSendsEverything,
        ])

    static func framed(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            + payload
    }

    /// Starts the server role; returns it and its address.
    static func server(_ c: CheckContext, _ extra: [String] = []) throws -> (LabProcess, String) {
        let lab = try c.start(["--listen", "127.0.0.1:0"] + extra)
        return (lab, try c.listeningAddress(lab))
    }

    /// A client of the lab, its waits bounded by the check's deadline.
    static func client(_ c: CheckContext, _ address: String) throws -> Connection {
        let connection = try dial("tcp", address, timeout: .seconds(2))
        c.onCleanup { connection.close() }
        connection.setReadDeadline(Deadline(c.deadline))
        connection.setWriteDeadline(Deadline(c.deadline))
        return connection
    }

    /// Reads one reply: its payload, nil at a clean EOF; a cut or a reset is a failure.
    static func reply(_ c: CheckContext, _ reader: BufferedReader, _ what: String) throws -> [UInt8]? {
        do {
            guard let header = try reader.readFull(4) else { return nil }
            let length = header.reduce(0) { $0 << 8 | Int($1) }
            guard length <= 1 << 20 else {
                throw CheckFailure("the reply to \(what) has a header saying \(length) bytes: \(header)")
            }
            guard let payload = try reader.readFull(length) else { throw CheckFailure("EOF inside a reply") }
            return payload
        } catch let error as NetError {
            c.note("peer: reading the reply to \(what): \(error)")
            let why =
                error.isTimeout
                ? "no reply came: the server must answer each message as soon as its last byte is there, "
                    + "whatever pieces it came in (readFull the 4-byte header, then readFull the payload)"
                : "the reply was cut short (\(error)): read each message by its length, the 4-byte big-endian "
                    + "header, and answer it whole"
            throw CheckFailure(why)
        }
    }

    static let answersHoweverSplit = Check(
        "answers each message however its bytes are split: one byte per send, many messages per send", points: 4,
        section: "Length-prefixed messages"
    ) { c in
        let (_, address) = try server(c)
        let messages = ["alpha", "", String(repeating: "bravo", count: 100), "charlie"].map { Array($0.utf8) }
        let wire = messages.flatMap(framed)
        for (way, size) in [("one byte per send", 1), ("all \(messages.count) messages in one send", wire.count)] {
            c.note("peer: sends \(messages.count) messages (\(wire.count) bytes), \(way), then reads the replies")
            let connection = try client(c, address)
            try connection.setNoDelay(true)
            for start in stride(from: 0, to: wire.count, by: size) {
                try connection.write(Array(wire[start..<min(start + size, wire.count)]))
            }
            let reader = BufferedReader(connection)
            for message in messages {
                let got = try reply(c, reader, excerpt(message, limit: 20))
                guard got == message else {
                    c.note(
                        "peer: wanted \(excerpt(message, limit: 40)), got \(got.map { excerpt($0, limit: 40) } ?? "EOF")"
                    )
                    throw CheckFailure(
                        "each reply must hold the same payload as its message; the length is 4 bytes, big-endian "
                            + "(most significant first), and one read() may hold part of a message or several")
                }
            }
            connection.close()
        }
        c.note("peer: every reply matched")
    }

    static let answersTheLimit = Check(
        "a message of exactly 1 MiB, the limit, comes back whole", points: 2, section: "Length-prefixed messages"
    ) { c in
        let (_, address) = try server(c)
        let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        c.note("peer: sends one message of 1048576 bytes in one write, then reads the reply")
        let connection = try client(c, address)
        try connection.write(framed(payload))
        let got = try reply(c, BufferedReader(connection), "the 1 MiB message")
        guard got == payload else {
            c.note("peer: got \(got.map { "\($0.count) bytes" } ?? "EOF")")
            throw CheckFailure(
                "a payload of at most 1 MiB is allowed, 1 MiB included; it takes many reads, and readFull joins them")
        }
    }

    static let answersAHalfClose = Check(
        "a client that half-closes after its last message gets every reply, then EOF", points: 2,
        section: "One connection, many messages"
    ) { c in
        let (_, address) = try server(c)
        c.note("peer: sends \"one\" and \"two\", then shutdown(SHUT_WR) at once, then reads")
        let connection = try client(c, address)
        try connection.write(framed(Array("one".utf8)) + framed(Array("two".utf8)))
        try connection.closeWrite()
        let reader = BufferedReader(connection)
        let first = try reply(c, reader, "\"one\""), second = try reply(c, reader, "\"two\"")
        let end = try reply(c, reader, "nothing")
        c.note(
            "peer: read \(first.map { excerpt($0) } ?? "EOF"), \(second.map { excerpt($0) } ?? "EOF"), then \(end == nil ? "EOF" : "more")"
        )
        guard first == Array("one".utf8), second == Array("two".utf8), end == nil else {
            throw CheckFailure(
                "EOF between messages is the client's way of saying it is done sending, not that it stopped "
                    + "reading: answer every message before it, then close")
        }
    }

    static let refusesAnOverlongLength = Check(
        "a length over 1 MiB ends that connection only, with one line on stderr", points: 3,
        section: "Length-prefixed messages"
    ) { c in
        let (lab, address) = try server(c)
        let bystander = try client(c, address)
        c.note("peer: client A connects; client B sends a header of 1048577 bytes, one over the limit")
        let liar = try client(c, address)
        try liar.write([0x00, 0x10, 0x00, 0x01])  // 0x00100001 = 1048577, big-endian
        let ending: String
        do { ending = try liar.readToEnd().isEmpty ? "EOF" : "bytes" } catch { ending = "\(error)" }
        c.note("peer: B read \(ending)")
        guard ending == "EOF" else {
            throw CheckFailure(
                ending.contains("timeout")
                    ? "the server waited for a 1 MiB + 1 payload: check the length against maxPayload before reading it, and end that connection"
                    : "B should have read EOF: a refused length ends the connection, closed as every other")
        }
        try bystander.write(framed(Array("still here".utf8)))
        let got = try reply(c, BufferedReader(bystander), "A's message")
        c.note("peer: A, after B was refused, got \(got.map { excerpt($0) } ?? "EOF")")
        guard got == Array("still here".utf8) else {
            throw CheckFailure("one client's bad length must end that client's connection only, not the server")
        }
        lab.terminate()
        let run = c.finish(lab, within: .seconds(5))
        let lines = run.stderr.split(separator: "\n")
        guard lines.count == 1 else {
            throw CheckFailure(
                "the refused connection should be logged in one line on stderr; there were \(lines.count): \(excerpt(run.stderr))"
            )
        }
    }

    static let servesWhileOneNeverReads = Check(
        "a client that never reads its replies does not stall the others", points: 2,
        section: "One connection, many messages"
    ) { c in
        let (_, address) = try server(c)
        c.note("peer: client A sends 16 messages of 1 MiB and never reads; meanwhile 3 other clients send one each")
        let hog = try client(c, address)
        hog.setWriteDeadline(.after(min(c.remaining, .seconds(6))))
        let flood = Thread {
            let message = framed([UInt8](repeating: 0x78, count: 1 << 20))
            for _ in 0..<16 { guard (try? hog.write(message)) != nil else { return } }
        }
        flood.start()
        pause(.milliseconds(500))
        for number in 1...3 {
            let connection = try client(c, address)
            try connection.write(framed(Array("hello \(number)".utf8)))
            let got: [UInt8]?
            do { got = try reply(c, BufferedReader(connection), "client \(number)") } catch {
                throw CheckFailure(
                    "client \(number) got no reply while client A, who never reads, kept the server writing: "
                        + "a write to A blocks once its buffers are full, so each connection needs its own thread")
            }
            guard got == Array("hello \(number)".utf8) else { throw CheckFailure("client \(number)'s reply was wrong") }
        }
        c.note("peer: the 3 other clients were answered")
        hog.close()
    }

    static let closesWithoutAReset = Check(
        "closes gracefully: a client whose last bytes the server never read gets its reply, then EOF, not a reset",
        points: 2, section: "Closing without losing data"
    ) { c in
        let (_, address) = try server(c)
        // 48 KiB more than the server reads: more than its BufferedReader takes in one read (so some
        // is unread in the kernel when it closes), less than a graceful close reads and discards.
        c.note("peer: sends \"ping\", then a header over the limit and 48 KiB more; waits 300ms; then reads")
        let connection = try client(c, address)
        let over: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF]
        try connection.write(framed(Array("ping".utf8)) + over + [UInt8](repeating: 0x61, count: 48 * 1024))
        pause(.milliseconds(300))
        let reader = BufferedReader(connection)
        let got: [UInt8]?, end: [UInt8]?
        do {
            got = try reader.readFull(8)
            end = try reader.readFull(1)
        } catch {
            c.note("peer: \(error)")
            throw CheckFailure(
                "the connection was reset: the server closed with the client's bytes unread, so Linux sent RST; "
                    + "close with closeGracefully() (shutdown(SHUT_WR), read what is left, then close)")
        }
        c.note("peer: read \(got.map { excerpt($0) } ?? "EOF"), then \(end == nil ? "EOF" : "more")")
        guard got == framed(Array("ping".utf8)), end == nil else {
            throw CheckFailure("the reply to \"ping\", then EOF, was expected")
        }
    }

    static let clientRole = Check(
        "--dial sends each MESSAGE as one message and prints each reply on a line", points: 2,
        section: "Length-prefixed messages"
    ) { c in
        let received = Mutex<[[UInt8]]>([])
        let server = try c.tcpServer { connection in
            let reader = BufferedReader(connection)
            while let header = try reader.readFull(4) {
                let length = header.reduce(0) { $0 << 8 | Int($1) }
                guard length <= 1 << 20, let payload = try reader.readFull(length) else { return }
                received.withLock { $0.append(payload) }
                try connection.write(framed(Array("reply to ".utf8) + payload))
            }
        }
        c.note("peer: answers each message with \"reply to \" and its payload")
        let run = try c.run(["--dial", server.address, "alpha", "two words"], within: .seconds(5))
        try c.expectExit(run, 0, "--dial must exit 0 once every reply is printed")
        let got = received.withLock { $0 }
        guard got == [Array("alpha".utf8), Array("two words".utf8)] else {
            throw CheckFailure(
                "the server received \(got.map { excerpt($0) }): each MESSAGE should arrive as one message, framed "
                    + "by its 4-byte big-endian length")
        }
        guard run.stdoutText == "reply to alpha\nreply to two words\n" else {
            throw CheckFailure("stdout should be each reply's payload on a line: \(excerpt(run.stdout))")
        }
    }

    static let demoSendsEverything = Check(
        "the demo's nonblocking send finishes its partial writes: the slow reader gets all 1 MiB", points: 2,
        limit: .seconds(20), section: "Partial writes and EAGAIN"
    ) { c in
        let run = try c.run([], within: .seconds(15))
        try c.expectExit(run, 0, "the demo must exit 0")
        let lines = run.stdoutLines
        guard let line = lines.first(where: { $0.contains("the reader got ") }) else {
            throw CheckFailure("the demo printed no line about the slow reader")
        }
        c.note("framing: \(line)")
        guard line.contains("all 1048576 bytes, in order") else {
            throw CheckFailure(
                "a nonblocking send() may take only part of the bytes: go on from the first byte not sent, and on "
                    + "EAGAIN wait for POLLOUT, until every byte is sent")
        }
    }
}
