// Lab 6 `hello-server`: `--listen ADDR [--count N]` greets every client with
// "Hello World!\r\n", each on a thread of its own, then closes that connection. The checks
// are its clients: several at once, some that keep their connections open while another
// must still be served, some that hang up or reset before the greeting, many in a row
// while the server's descriptors are counted in /proc/PID/fd.
import Sockets

enum Lab06: GradedLab {
    static let grading = LabGrading(
        number: 6, executable: "hello-server", chapter: "Chapters/06-tcp-server.md",
        hints: [
            "`handleConnection` owns its connection: start it with `defer { connection.closeGracefully() }`, so the "
                + "descriptor is closed on every path, a failed write included, and a client that wrote first gets no reset. A connection never closed keeps its descriptor (in "
                + "CLOSE_WAIT once the client hangs up) for as long as the server runs, and the client never sees EOF.",
            "`writeGreeting(to: connection, bytesPerWrite: 1)` sends the greeting one byte per write(). It throws when the "
                + "client has gone: EPIPE or ECONNRESET (never SIGPIPE: the module sends with MSG_NOSIGNAL).",
            "A failed write concerns that one client: catch it, log it with `warn(\"\\(error)\")`, and return. Never let "
                + "it stop the server: no `try!`, no `exit`, no rethrowing into the accept loop.",
            "When narrating, say `PEER: sent \"Hello World!\\r\\n\" in 14 writes` after the greeting: "
                + "`say(\"\\(peer): sent \\(quoted(greeting)) in \\(greeting.count) writes\")`, with "
                + "`peer = connection.remoteAddress.map(\\.description) ?? \"?\"`.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "nonsense"], mentioning: "--listen"),
            greetsClientsAtOnce, openClientsDoNotHoldUpTheNext, countStopsTheServer, survivesClientsThatLeave,
            closesEveryConnection,
            .stopsOnSIGTERM(["--listen", "127.0.0.1:0"]),
        ])

    static let greeting = Array("Hello World!\r\n".utf8)

    static let greetsClientsAtOnce = Check(
        "five clients at once each get exactly \"Hello World!\\r\\n\", then EOF", points: 4,
        section: "One thread per connection"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0"])
        let address = try c.listeningAddress(lab)
        let clients = try connectAll(c, lab, 5, to: address)
        c.note("peer: 5 clients connect, all before any of them reads; then each reads until EOF")
        try expectGreetings(c, lab, clients)
        lab.terminate()
    }

    /// What a thread per connection buys, seen from outside: clients that keep their
    /// connections open hold up no one else. Each handler ends in `closeGracefully()`, which
    /// waits up to 2 s for the client's EOF; four clients that never send it hold a
    /// one-at-a-time server for at least 8 s before it accepts the fifth, while a server with
    /// a thread per connection greets the fifth at once. The bound (4 s) is half of that.
    static let openClientsDoNotHoldUpTheNext = Check(
        "four clients that keep their connections open do not hold up a fifth", points: 3,
        limit: .seconds(15), section: "One thread per connection"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0"])
        let address = try c.listeningAddress(lab)
        let silent = try connectAll(c, lab, 4, to: address)
        c.note("peer: 4 clients connect, then neither read, send, nor close (each handler waits for their EOF)")
        let next = try connectAll(c, lab, 1, to: address)[0]
        let bound = Duration.seconds(4)
        c.note("peer: a fifth client connects and reads until EOF, for at most \(seconds(bound))")
        let (bytes, ending) = readAll(next, until: .after(min(bound, c.remaining)))
        next.close()
        c.note("peer: the fifth client read \(excerpt(bytes)), then \(ending ?? "EOF")")
        if bytes.isEmpty && ending != nil, lab.isRunning {
            throw CheckFailure(
                "the fifth client got nothing within \(seconds(bound)) while four others kept their connections "
                    + "open: the server serves one connection at a time, so each open client holds up everyone after it; "
                    + "give each accepted connection its own thread (Serving.start) and go straight back to accept")
        }
        try expectGreeting(c, lab, bytes, ending)
        silent.forEach { $0.close() }  // their handlers' waits end now, so SIGTERM ends the server at once
        lab.terminate()
    }

    static let countStopsTheServer = Check(
        "--count 3: serves three clients to the end, then exits 0", points: 2, section: "One thread per connection"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0", "--count", "3"])
        let address = try c.listeningAddress(lab)
        let clients = try connectAll(c, lab, 3, to: address)
        c.note("peer: 3 clients connect, all before any of them reads; then each reads until EOF")
        try expectGreetings(c, lab, clients)
        let run = c.finish(lab, within: .seconds(5))
        try c.expectExit(run, 0, "after --count 3 connections have been served, the server must exit 0")
    }

    static let survivesClientsThatLeave = Check(
        "clients that hang up or reset at once do not stop the server", points: 3, section: "Closing each connection"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0"])
        let address = try c.listeningAddress(lab)
        c.note(
            "peer: 10 times: one client connects and closes at once (FIN), one connects and resets (RST), "
                + "then one reads its greeting")
        for round in 1...10 {
            guard lab.isRunning else { break }
            try? dial("tcp", address, timeout: .seconds(2)).close()
            if let resetter = try? dial("tcp", address, timeout: .seconds(2)) { resetter.reset() }
            let polite: Connection
            do { polite = try dial("tcp", address, timeout: .seconds(2)) } catch {
                c.note("peer: round \(round): \(error)")
                break
            }
            let (bytes, ending) = readAll(polite, until: .after(min(.seconds(3), c.remaining)))
            polite.close()
            if bytes != greeting || ending != nil {
                c.note("peer: round \(round): the polite client read \(excerpt(bytes)), then \(ending ?? "EOF")")
                break
            }
        }
        c.pause(.milliseconds(200))
        if !lab.isRunning {
            let run = c.finish(lab)
            throw c.failure(
                "the server ended while clients came and went: a client that hangs up makes a write fail "
                    + "with EPIPE or ECONNRESET, and that ends this one connection (log it, close it), never the server",
                run)
        }
        c.note("peer: every polite client got its greeting, and the server still runs")
        lab.terminate()
    }

    static let closesEveryConnection = Check(
        "closes every connection: after 40 clients its descriptor count is back where it started", points: 3,
        section: "Closing each connection"
    ) { c in
        let lab = try c.start(["--listen", "127.0.0.1:0"])
        let address = try c.listeningAddress(lab)
        c.pause(.milliseconds(200))
        guard let before = lab.descriptorCount() else {
            throw c.failure("the server ended before any client came", c.finish(lab))
        }
        c.note("grader: the server has \(before) descriptors open (/proc/PID/fd)")
        c.note("peer: 40 clients, one after another, each reads the 14 bytes of its greeting, then closes")
        for number in 1...40 {
            let client = try dial("tcp", address, timeout: .seconds(2))
            let (bytes, _) = readAll(client, until: .after(min(.seconds(2), c.remaining)), stoppingAt: greeting.count)
            client.close()
            guard bytes == greeting else {
                c.note("peer: client \(number) read \(excerpt(bytes))")
                try expectGreeting(c, lab, bytes, nil)
                return
            }
        }
        var after = lab.descriptorCount()
        let settle = ContinuousClock.now + .seconds(3)
        while let now = after, now > before, ContinuousClock.now < settle {
            c.pause(.milliseconds(50))
            after = lab.descriptorCount()
        }
        guard let after else { throw c.failure("the server ended while clients came", c.finish(lab)) }
        c.note("grader: 40 clients later, and every one of them gone, it has \(after) open")
        if after > before {
            throw CheckFailure(
                "\(after - before) descriptors more than before the 40 clients: each accepted connection is "
                    + "a descriptor until the server closes it, and the server runs out of them long before memory; close "
                    + "each connection once its greeting is sent (defer), on every path, and keep no reference that holds it open"
            )
        }
        lab.terminate()
    }

    /// Connects `count` clients to the lab (all of them before anyone reads).
    static func connectAll(_ c: CheckContext, _ lab: LabProcess, _ count: Int, to address: String) throws
        -> [Connection]
    {
        var clients: [Connection] = []
        c.onCleanup { clients.forEach { $0.close() } }
        for _ in 0..<count {
            do { clients.append(try dial("tcp", address, timeout: .seconds(2))) } catch {
                c.note("peer: \(error)")
                throw c.failure("the server stopped accepting connections", c.finish(lab, within: .seconds(1)))
            }
        }
        return clients
    }

    /// Reads until EOF (nil), `limit` bytes, or the deadline: the bytes, and how the reading
    /// ended when it was not EOF.
    static func readAll(
        _ connection: Connection, until deadline: Deadline,
        stoppingAt limit: Int = .max
    ) -> (bytes: [UInt8], ending: String?) {
        connection.setReadDeadline(deadline)
        var bytes: [UInt8] = []
        while bytes.count < limit {
            do {
                let chunk = try connection.read(maxLength: 1024)
                if chunk.isEmpty { return (bytes, nil) }
                bytes += chunk
            } catch {
                return (bytes, error.isTimeout ? "no EOF (still open after waiting)" : "\(error)")
            }
        }
        return (bytes, "no EOF yet")
    }

    /// Each client, in turn, reads until EOF (or a short while), closes, and must have the greeting.
    static func expectGreetings(_ c: CheckContext, _ lab: LabProcess, _ clients: [Connection]) throws {
        for (number, client) in clients.enumerated() {
            let (bytes, ending) = readAll(client, until: .after(min(.seconds(3), c.remaining)))
            client.close()
            c.note("peer: client \(number + 1) read \(excerpt(bytes)), then \(ending ?? "EOF")")
            try expectGreeting(c, lab, bytes, ending)
        }
    }

    /// The bytes must be the greeting, then EOF; otherwise say why, the lab's own end first.
    static func expectGreeting(_ c: CheckContext, _ lab: LabProcess, _ bytes: [UInt8], _ ending: String?) throws {
        if bytes == greeting && ending == nil { return }
        if !lab.isRunning || bytes.isEmpty {
            let run = c.finish(lab, within: .milliseconds(500))
            if !run.killed {
                throw c.failure(
                    "the server ended while serving its clients; it must greet each one and keep running", run)
            }
        }
        if bytes != greeting {
            throw CheckFailure("expected exactly \(excerpt(greeting)) (14 bytes), got \(excerpt(bytes))")
        }
        throw CheckFailure(
            "the greeting came, but no EOF: the server must close each connection once its greeting "
                + "is sent, or the client waits for more, forever")
    }
}
