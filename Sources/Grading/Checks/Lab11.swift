// Lab 11 `event-loop`: `--listen ADDR [--count N] [--echo]`, every connection on one thread.
// The checks are its clients: twenty at once, half of them writing first (a graceful close
// must still deliver the greeting), and one that sends two megabytes to be echoed back
// through partial writes. Lab 12's checks are the same clients (EventServerChecks).
import Foundation
import Sockets

enum Lab11: GradedLab {
    static let grading = LabGrading(
        number: 11, executable: "event-loop", chapter: "Chapters/11-event-loop.md",
        hints: [
            "`receive` runs when the loop says the socket is readable: one `client.socket.read(into:)` into `buffer`. "
                + "`.wouldBlock` (EAGAIN) means nothing after all: return. 0 bytes is the client's FIN: set "
                + "`client.peerClosed`. With --echo, append what came to `client.output`. Then call `flush(client)`.",
            "`flush` sends `client.output[client.sent...]` with `client.socket.send`, adding what each call took to "
                + "`client.sent`, until nothing is owed or the call says `.wouldBlock`: the kernel's send buffer is full, "
                + "which is normal on a nonblocking socket. Never wait there: the one thread serves everybody.",
            "After sending: the peer closed and nothing is owed? `finish(client)`. Without --echo, once the greeting is "
                + "all sent, `closeWrite(client)`. Then `watch(client, for:)`: `.writable` only while bytes are owed "
                + "(level-triggered epoll reports a writable socket in every wait), `.readable` while fewer than "
                + "`Server.maxOwed` are owed and the peer has not closed.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "nonsense"], mentioning: "--listen"),
            EventServerChecks.greetsClientsAtOnce(section: "A loop that never blocks"),
            EventServerChecks.echoesThroughPartialWrites(section: "Partial writes and EPOLLOUT"),
            EventServerChecks.stalledReaderDelaysNobody(section: "Partial writes and EPOLLOUT"),
            .stopsOnSIGTERM(["--listen", "127.0.0.1:0"]),
        ])
}

/// The clients labs 11 and 12 both face.
enum EventServerChecks {
    static let greeting = Array("Hello World!\r\n".utf8)

    static func greetsClientsAtOnce(section: String) -> Check {
        Check(
            "--count 20: twenty clients at once each get \"Hello World!\\r\\n\" then EOF, those that wrote first too",
            points: 4, section: section
        ) { c in
            let lab = try c.start(["--listen", "127.0.0.1:0", "--count", "20"])
            let address = try c.listeningAddress(lab)
            c.note(
                "peer: 20 clients connect, all before any reads; the even ones first send \"GET / HTTP/1.0\\r\\n\\r\\n\""
            )
            var clients: [Connection] = []
            defer { clients.forEach { $0.close() } }
            for number in 0..<20 {
                let client = try dial("tcp", address, timeout: .seconds(2))
                clients.append(client)
                if number % 2 == 0 { try? client.write("GET / HTTP/1.0\r\n\r\n") }
            }
            for (number, client) in clients.enumerated() {
                let (bytes, ending) = readToEnd(client, until: .after(min(.seconds(3), c.remaining)))
                client.close()  // our FIN: the server waits for it before it counts the connection done
                guard bytes == greeting, ending == nil else {
                    c.note("peer: client \(number + 1) read \(excerpt(bytes)), then \(ending ?? "EOF")")
                    throw stopped(
                        c, lab,
                        "every client must read exactly the 14 bytes of the greeting, then EOF: send all of it, then "
                            + "close (without --echo, half-close and wait for the client's FIN, so that a client that "
                            + "wrote first gets its greeting rather than a reset)")
                }
            }
            c.note("peer: all 20 read the greeting, then EOF, and closed")
            let run = c.finish(lab, within: .seconds(5))
            try c.expectExit(run, 0, "after --count 20 connections are done, the server must exit 0")
        }
    }

    static func echoesThroughPartialWrites(section: String) -> Check {
        Check(
            "--echo: two megabytes come back exact, after the greeting, though we start reading late", points: 4,
            section: section
        ) { c in
            let lab = try c.start(["--listen", "127.0.0.1:0", "--echo"])
            let address = try c.listeningAddress(lab)
            let payload = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            c.note(
                "peer: sends 2 MiB (more than the socket buffers hold), starts reading 300 ms later, then half-closes")
            let client = try dial("tcp", address, timeout: .seconds(2))
            defer { client.close() }
            let writer = Thread {
                try? client.write(payload)
                try? client.closeWrite()
            }
            writer.start()
            // Not reading at first: the echo fills our receive buffer and the server's send
            // buffer, so the server's sends must come back partial or EAGAIN.
            c.pause(.milliseconds(300))
            let (bytes, ending) = readToEnd(client, until: .after(min(.seconds(8), c.remaining)))
            let expected = greeting + payload
            guard bytes == expected, ending == nil else {
                let same = zip(bytes, expected).prefix { $0 == $1 }.count
                c.note("peer: read \(bytes.count) bytes (the first \(same) as expected), then \(ending ?? "EOF")")
                throw stopped(
                    c, lab,
                    "the echo must be every byte, in order: a nonblocking send may take only part of what it is "
                        + "given (or nothing: EAGAIN); keep the rest and send it when the socket is writable again")
            }
            c.note("peer: the greeting and all 2 MiB came back, then EOF")
            lab.terminate()
        }
    }

    static func stalledReaderDelaysNobody(section: String) -> Check {
        Check(
            "--echo: a client that sends 8 MiB and reads nothing does not keep the next client from its greeting",
            points: 2, section: section
        ) { c in
            let lab = try c.start(["--listen", "127.0.0.1:0", "--echo"])
            let address = try c.listeningAddress(lab)
            c.note("peer: the first client sends 8 MiB and never reads; 300 ms later a second client connects")
            // The first connection lands on the loop that accepts: a loop stuck on it would
            // accept nobody else. 8 MiB is more than the kernel buffers between us hold, so
            // the server's echo must come to EAGAIN.
            let stalled = try dial("tcp", address, timeout: .seconds(2))
            defer { stalled.close() }
            stalled.setWriteDeadline(.after(min(.seconds(6), c.remaining)))
            let writer = Thread { try? stalled.write([UInt8](repeating: 0x2A, count: 8 << 20)) }
            writer.start()
            c.pause(.milliseconds(300))
            let second = try dial("tcp", address, timeout: .seconds(2))
            defer { second.close() }
            second.setReadDeadline(.after(min(.seconds(3), c.remaining)))
            var got: [UInt8] = []
            while got.count < greeting.count, let chunk = try? second.read(maxLength: 64), !chunk.isEmpty {
                got += chunk
            }
            guard got == greeting else {
                c.note("peer: the second client read \(excerpt(got)) in 3 s")
                throw stopped(
                    c, lab,
                    "the loop must never wait for one client: when a send says EAGAIN, keep the rest, ask for "
                        + "EPOLLOUT and go back to epoll_wait; a loop that tries the send again and again serves "
                        + "nobody else meanwhile")
            }
            c.note("peer: the second client got its greeting while the first still read nothing")
            lab.terminate()
        }
    }

    /// The lab stopped at once (it may be stuck: no use waiting), and the failure with its run.
    static func stopped(_ c: CheckContext, _ lab: LabProcess, _ expected: String) -> CheckFailure {
        lab.terminate()
        return c.failure(expected, c.finish(lab, within: .milliseconds(200)))
    }

    /// Reads until EOF or the deadline. The second value says why it stopped, if not EOF.
    static func readToEnd(_ connection: Connection, until deadline: Deadline) -> ([UInt8], String?) {
        connection.setReadDeadline(deadline)
        var bytes: [UInt8] = []
        while true {
            do {
                let chunk = try connection.read(maxLength: 65_536)
                if chunk.isEmpty { return (bytes, nil) }
                bytes += chunk
            } catch {
                return (bytes, "\(error)")
            }
        }
    }
}
