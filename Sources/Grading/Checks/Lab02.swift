// Lab 2 `handshake`: the lab has only its demo, which prints each end's TCP state as the
// kernel reports it, row by row, part by part. The checks read those rows and hold them to
// what TCP does, and ask the kernel's table themselves, once the lab has exited, whether
// the TIME_WAIT it printed is really there.
import Foundation
import Sockets

enum Lab02: GradedLab {
    static let grading = LabGrading(
        number: 2, executable: "handshake", chapter: "Chapters/02-handshake-and-close.md",
        hints: [
            "Every state the demo prints comes from the kernel: `socket.tcpState()` is getsockopt(TCP_INFO) on that "
                + "socket, and its `description` is the kernel's name (`ESTABLISHED`, `FIN_WAIT_2`…). No socket to ask, "
                + "or the kernel cannot say: print \"-\".",
            "A connection in TIME_WAIT has no socket left to ask: look in the kernel's table instead, "
                + "`TCPTable.entries(from: local, to: remote)`, where `local` is this end's own address and `remote` the "
                + "peer's, exactly as `connection.localAddress` and `connection.remoteAddress` say.",
            "Some entries appear only once a segment has crossed loopback (the last ACK). With `expected`, look again "
                + "every 1 ms (`pause(.milliseconds(1))`) until an entry in that state is there, for at most 5 s "
                + "(`Deadline.after(.seconds(5))`), then return what the table holds.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["extra"], mentioning: "extra"),
            demoExitsZero, handshakeStates, synSentHeldOpen, orderlyCloseStates, resetLeavesNothing, timeWaitInTheTable,
            dialCloseKeepsTimeWait, dialAbortSendsReset,
        ])

    /// The lab dials the grader's server: the lab's own address and how the connection ended,
    /// as the grader's end and the kernel see them.
    static func dialed(_ c: CheckContext, abort: Bool) throws -> (lab: Address, server: Address, read: String) {
        let listener = try Listener("tcp", "127.0.0.1:0")
        c.onCleanup { listener.close() }
        c.note("peer: TCP server listening on \(listener.address)")
        let lab = try c.start(["--dial", listener.address.description] + (abort ? ["--abort"] : []))
        guard try listener.socket.wait(for: .readable, until: Deadline(c.deadline)) else {
            throw c.failure("the lab never connected", c.finish(lab))
        }
        let connection = try listener.accept()
        defer { connection.close() }
        connection.setReadDeadline(Deadline(min(.now + .seconds(5), c.deadline)))
        guard let peer = connection.remoteAddress else {
            throw c.failure("the lab's connection was gone as soon as it was accepted", c.finish(lab))
        }
        let read: String
        do {
            let bytes = try connection.read()
            read = bytes.isEmpty ? "EOF" : "\(bytes.count) bytes"
        } catch {
            read = "\(error)"
        }
        c.note("peer: accepted \(peer); its read() then: \(read)")
        let run = c.finish(lab, within: .seconds(5))
        try c.expectExit(run, 0, "--dial must connect, close, and exit 0")
        return (peer, listener.address, read)
    }

    /// The kernel's entries for `local` → `remote`, once an entry in `state` is there (2 s at most).
    static func table(_ local: Address, _ remote: Address, awaiting state: TCPState?) throws -> [TCPTable.Entry] {
        let deadline = Deadline.after(.seconds(2))
        var entries = try TCPTable.entries(from: local, to: remote)
        while let state, !entries.contains(where: { $0.state == state }), !deadline.hasPassed {
            pause(.milliseconds(5))
            entries = try TCPTable.entries(from: local, to: remote)
        }
        return entries
    }

    static let dialCloseKeepsTimeWait = Check(
        "--dial: the end that closes first sends FIN and keeps the TIME_WAIT (the kernel's table)", points: 3,
        section: "Why TIME_WAIT, and what SO_REUSEADDR does about it"
    ) { c in
        let (lab, server, read) = try dialed(c, abort: false)
        guard read == "EOF" else {
            throw CheckFailure(
                "the peer's read() got \(read), not EOF: a plain close() sends FIN, an orderly end of the stream; "
                    + "only SO_LINGER 0 turns it into a RST")
        }
        // The grader's end has closed too (after its EOF): the lab's end, which closed first, waits.
        let entries = try table(lab, server, awaiting: .timeWait)
        let shown = entries.isEmpty ? "no entry" : entries.map(\.description).joined(separator: ", ")
        c.note("grader: the kernel's table for \(lab) -> \(server), the lab gone: \(shown)")
        guard entries.map(\.state) == [.timeWait] else {
            throw CheckFailure(
                "the lab closed first, so its end (\(lab)) must sit in TIME_WAIT for 60 s after it exits; "
                    + "the kernel has \(shown)")
        }
    }

    static let dialAbortSendsReset = Check(
        "--dial --abort: SO_LINGER 0 sends RST: the peer's read fails, and no TIME_WAIT is kept", points: 3,
        section: "Underneath: the close"
    ) { c in
        let (lab, server, read) = try dialed(c, abort: true)
        guard read.contains("connection reset by peer") else {
            throw CheckFailure(
                "the peer's read() got \(read): with --abort, set SO_LINGER to {on, 0 s} before close(), which then "
                    + "sends RST, and the peer's read fails with `connection reset by peer`")
        }
        let entries = try table(lab, server, awaiting: nil)
        c.note("grader: the kernel's table for \(lab) -> \(server): \(entries.isEmpty ? "no entry" : "\(entries)")")
        guard entries.isEmpty else {
            throw CheckFailure("a reset connection leaves nothing behind: no TIME_WAIT, no entry at all")
        }
    }

    /// The demo's output read as its table: each part's rows of (client, server) states, and its lines.
    struct Demo {
        static let names: Set = [
            "-", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
            "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSE",
        ]
        var rows: [Int: [[String]]] = [:]
        var lines: [Int: [String]] = [:]

        init(_ output: [String]) {
            var part = 0
            for line in output {
                if let heading = line.firstMatch(of: #/^([1-9])\. /#), let number = Int(heading.1) {
                    part = number
                    continue
                }
                lines[part, default: []].append(line)
                let words = line.split(separator: " ", maxSplits: 2).map(String.init)
                if words.count == 3, Demo.names.contains(words[0]), Demo.names.contains(words[1]) {
                    rows[part, default: []].append([words[0], words[1]])
                }
            }
        }

        func rows(_ part: Int) -> [[String]] { rows[part] ?? [] }
        func lines(_ part: Int) -> [String] { lines[part] ?? [] }

        /// `kernel table, END end: LOCAL -> REMOTE: WHAT` lines of a part.
        func table(_ part: Int, end: String) -> [(local: String, remote: String, what: String)] {
            lines(part).compactMap { line in
                guard let match = line.wholeMatch(of: #/kernel table, (\w+) end: (\S+) -> (\S+): (.*)/#), match.1 == end
                else {
                    return nil
                }
                return (String(match.2), String(match.3), String(match.4))
            }
        }
    }

    static func demo(_ c: CheckContext) throws -> (Finished, Demo) {
        let run = try c.runOnce([], within: .seconds(25))
        try c.expectExit(run, 0, "the demo must run every part and exit 0")
        return (run, Demo(run.stdoutLines))
    }

    static func shown(_ rows: [[String]]) -> String {
        rows.isEmpty ? "none" : rows.map { "\($0[0])/\($0[1])" }.joined(separator: ", ")
    }

    /// The part's rows must be `expected` (client/server per row).
    static func expectRows(_ c: CheckContext, _ demo: Demo, part: Int, _ expected: [[String]], _ why: String) throws {
        let rows = demo.rows(part)
        c.note("demo: part \(part)'s rows, client/server: \(shown(rows))")
        guard rows == expected else {
            throw CheckFailure("expected \(shown(expected)); \(why)")
        }
    }

    static let demoExitsZero = Check(
        "the demo runs to its end and exits 0", points: 2, limit: .seconds(30),
        section: "The lab contract", chapter: "Chapters/README.md"
    ) { c in
        _ = try demo(c)
    }

    static let handshakeStates = Check(
        "the handshake: LISTEN, then ESTABLISHED on both ends, read from the kernel", points: 3, limit: .seconds(30),
        section: "Underneath: the handshake"
    ) { c in
        let (_, demo) = try demo(c)
        try expectRows(
            c, demo, part: 1,
            [
                ["-", "LISTEN"], ["ESTABLISHED", "LISTEN"], ["ESTABLISHED", "LISTEN"],
                ["ESTABLISHED", "ESTABLISHED"],
            ],
            "the listener is LISTEN; connect() returns once the handshake is done (ESTABLISHED), the kernel "
                + "finishes the server's side without accept(), and accept() hands over a socket that is "
                + "ESTABLISHED while the listener stays LISTEN")
    }

    static let synSentHeldOpen = Check(
        "a full accept queue holds the client in SYN_SENT", points: 2, limit: .seconds(30),
        section: "Underneath: the handshake"
    ) { c in
        let (_, demo) = try demo(c)
        try expectRows(
            c, demo, part: 2,
            [
                ["-", "LISTEN"], ["-", "LISTEN"], ["SYN_SENT", "LISTEN"], ["SYN_SENT", "LISTEN"],
                ["ESTABLISHED", "LISTEN"],
            ],
            "a SYN sent to a full accept queue is dropped, so the client stays in SYN_SENT until its SYN, "
                + "sent again, finds room")
    }

    static let orderlyCloseStates = Check(
        "the orderly close: FIN_WAIT_1, FIN_WAIT_2 and CLOSE_WAIT, LAST_ACK, CLOSE", points: 3, limit: .seconds(30),
        section: "Underneath: the close"
    ) { c in
        let (_, demo) = try demo(c)
        try expectRows(
            c, demo, part: 3,
            [
                ["ESTABLISHED", "ESTABLISHED"], ["FIN_WAIT_1", "ESTABLISHED"],
                ["FIN_WAIT_2", "CLOSE_WAIT"], ["FIN_WAIT_2", "CLOSE_WAIT"],
                ["FIN_WAIT_2", "LAST_ACK"], ["CLOSE", "CLOSE"],
            ],
            "the client's FIN, unacknowledged, is FIN_WAIT_1; acknowledged, FIN_WAIT_2, with the server in "
                + "CLOSE_WAIT; the server's own FIN is LAST_ACK; then both sockets report CLOSE")
    }

    static let resetLeavesNothing = Check(
        "the abortive close: RST, the peer's read fails, and no TIME_WAIT", points: 2, limit: .seconds(30),
        section: "Underneath: the close"
    ) { c in
        let (_, demo) = try demo(c)
        try expectRows(
            c, demo, part: 4, [["ESTABLISHED", "ESTABLISHED"], ["-", "CLOSE"], ["-", "CLOSE"]],
            "a RST ends the connection at once: the server's socket is CLOSE")
        guard demo.lines(4).contains(where: { $0.hasSuffix(": read: connection reset by peer") }) else {
            throw CheckFailure("after the RST, the server's read must fail with `read: connection reset by peer`")
        }
        let table = demo.table(4, end: "client")
        c.note("demo: \(table.map { "client end \($0.local) -> \($0.remote): \($0.what)" }.joined(separator: "; "))")
        guard table.count == 1, table[0].what == "no entry" else {
            throw CheckFailure(
                "the client that reset its connection leaves no TIME_WAIT: the kernel's table should have "
                    + "no entry for it")
        }
    }

    static let timeWaitInTheTable = Check(
        "TIME_WAIT stays with the end that closed first, in the kernel's table", points: 3, limit: .seconds(30),
        section: "Why TIME_WAIT, and what SO_REUSEADDR does about it"
    ) { c in
        let (_, demo) = try demo(c)
        let client = demo.table(3, end: "client"), server = demo.table(3, end: "server")
        (client + server).forEach { c.note("demo: part 3, \($0.local) -> \($0.remote): \($0.what)") }
        guard let entry = client.first, entry.what.hasPrefix("TIME_WAIT") else {
            throw CheckFailure(
                "the client closed first, so its end of the connection (from the client's address to the "
                    + "server's) waits in TIME_WAIT, in the kernel's table: look it up by this end's own address, local "
                    + "first, and wait for it to appear")
        }
        guard server.first?.what == "no entry" else {
            throw CheckFailure(
                "the server closed second: its end leaves no TIME_WAIT, so the table has no entry for it")
        }
        guard let connect = demo.lines(1).first(where: { $0.contains("connect() from ") }),
            connect.contains("connect() from \(entry.local) returned")
        else {
            throw CheckFailure(
                "the TIME_WAIT should be the connection of part 1, from the client's address \(entry.local)")
        }
        // The lab has exited; its TIME_WAIT has not: the kernel keeps it for 60 s. Ask the kernel.
        let now = try TCPTable.entries(from: Address(entry.local), to: Address(entry.remote))
        let found = now.isEmpty ? "no entry" : now.map(\.description).joined(separator: ", ")
        c.note("grader: the kernel's table now, the lab gone: \(found)")
        guard now.map(\.state) == [.timeWait] else {
            throw CheckFailure(
                "the kernel holds no TIME_WAIT from \(entry.local) to \(entry.remote): print what the "
                    + "kernel's table says, not what the textbook says")
        }
        let ends = demo.table(5, end: "server").map { String($0.what.prefix { $0 != "," }) }
        c.note("demo: part 5, the server's end: \(ends.joined(separator: ", "))")
        guard ends == ["FIN_WAIT_2", "TIME_WAIT", "TIME_WAIT"] else {
            throw CheckFailure(
                "when the server closes first, its end is FIN_WAIT_2, then TIME_WAIT, on the server's own port")
        }
    }
}
