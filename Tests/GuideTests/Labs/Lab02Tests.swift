// Lab 2 `handshake`: the states the demo read from the kernel, part by part, checked
// against the kernel's table after the lab has exited; and the module's TCPState and
// TCPTable, asked directly on loopback (IPv4 and IPv6).
import Foundation
import Sockets
import Testing

/// The demo's output, read as the table it prints: for each part, its rows' states
/// (client, server) and its other lines.
struct HandshakeDemo {
    struct Part {
        var states: [[String]] = []  // [client, server] per row
        var lines: [String] = []
    }

    static let stateNames: Set = [
        "-", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
        "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSE",
    ]
    var parts: [Int: Part] = [:]

    init(_ lines: [String]) {
        var current = 0
        for line in lines {
            if let heading = line.firstMatch(of: #/^([1-9])\. /#), let number = Int(heading.1) {
                current = number
                continue
            }
            parts[current, default: Part()].lines.append(line)
            let words = line.split(separator: " ", maxSplits: 2).map(String.init)
            if words.count == 3, Self.stateNames.contains(words[0]), Self.stateNames.contains(words[1]) {
                parts[current, default: Part()].states.append([words[0], words[1]])
            }
        }
    }

    func states(_ part: Int) -> [[String]] { parts[part]?.states ?? [] }
    func lines(_ part: Int) -> [String] { parts[part]?.lines ?? [] }

    /// `kernel table, END end: LOCAL -> REMOTE: WHAT` lines of a part, as (local, remote, what).
    func kernelTable(_ part: Int, end: String) throws -> [(Address, Address, String)] {
        try lines(part).compactMap { line in
            guard let match = line.wholeMatch(of: /kernel table, (\w+) end: (\S+) -> (\S+): (.*)/), match.1 == end
            else {
                return nil
            }
            return (try Address(String(match.2)), try Address(String(match.3)), String(match.4))
        }
    }
}

/// Asks `condition` until it holds or `limit` passes; true if it held.
func eventually(within limit: Duration = .seconds(5), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Deadline.after(limit)
    while try !condition() {
        if deadline.hasPassed { return false }
        pause(.milliseconds(2))
    }
    return true
}

@Suite struct Lab02Handshake {
    /// One run of the demo, shared by the tests that read it.
    static let demoRun = Task { try await runLab("handshake") }

    @Test func demoReportsEveryStateOnBothEndsFromTheKernel() async throws {
        let run = try await Self.demoRun.value
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.isEmpty)
        let demo = HandshakeDemo(run.stdoutLines)

        // 1. LISTEN; the blocking connect() returns ESTABLISHED; accept() gives the server's end.
        #expect(
            demo.states(1) == [
                ["-", "LISTEN"], ["ESTABLISHED", "LISTEN"], ["ESTABLISHED", "LISTEN"],
                ["ESTABLISHED", "ESTABLISHED"],
            ], "\(demo.lines(1))")
        // 2. SYN_SENT while the accept queue is full, and still 500 ms later; ESTABLISHED once there is room.
        #expect(
            demo.states(2) == [
                ["-", "LISTEN"], ["-", "LISTEN"], ["SYN_SENT", "LISTEN"], ["SYN_SENT", "LISTEN"],
                ["ESTABLISHED", "LISTEN"],
            ], "\(demo.lines(2))")
        #expect(
            demo.lines(1).contains {
                $0.hasSuffix("client's tcpi_bytes_acked: 1 = 0 data bytes + 1 SYN: the SYN-ACK said ack = x+1")
            },
            "the SYN takes one sequence number: \(demo.lines(1))")
        #expect(
            demo.lines(1).contains {
                $0.hasSuffix(
                    "server's tcpi_bytes_acked: 0: the kernel made this socket when the client's ACK said ack = y+1,")
            },
            "the accepted socket counts from the end of the handshake: \(demo.lines(1))")
        #expect(demo.lines(2).contains { $0.contains("2 connections wait in the accept queue") })
        // 3. The orderly close, each FIN held behind unread bytes.
        #expect(
            demo.states(3) == [
                ["ESTABLISHED", "ESTABLISHED"], ["FIN_WAIT_1", "ESTABLISHED"],
                ["FIN_WAIT_2", "CLOSE_WAIT"], ["FIN_WAIT_2", "CLOSE_WAIT"],
                ["FIN_WAIT_2", "LAST_ACK"], ["CLOSE", "CLOSE"],
            ], "\(demo.lines(3))")
        // The kernel counted what the server acknowledged: every byte written, plus the SYN and the FIN.
        let written = try #require(
            demo.lines(3).lazy.compactMap { $0.firstMatch(of: /client: writes ([0-9]+) bytes/) }.first)
        let acked = try #require(
            demo.lines(3).lazy.compactMap { $0.firstMatch(of: /tcpi_bytes_acked: ([0-9]+) = ([0-9]+) data bytes/) }
                .first)
        #expect(Int(acked.1) == Int(written.1)! + 2 && acked.2 == written.1, "\(acked.0), after \(written.0)")
        #expect(Int(written.1)! > 0)
        // 4. RST: the server's end is CLOSE at once and its read fails with ECONNRESET.
        #expect(
            demo.states(4) == [["ESTABLISHED", "ESTABLISHED"], ["-", "CLOSE"], ["-", "CLOSE"]], "\(demo.lines(4))")
        #expect(
            demo.lines(4).contains {
                $0.hasSuffix(": read: connection reset by peer") && $0.contains("read tcp 127.0.0.1:")
            })
        // 5. The server closes first; without SO_REUSEADDR its port cannot be bound again.
        #expect(
            demo.states(5) == [
                ["-", "LISTEN"], ["ESTABLISHED", "ESTABLISHED"], ["CLOSE_WAIT", "-"], ["-", "-"],
                ["-", "-"], ["-", "LISTEN"],
            ], "\(demo.lines(5))")
        #expect(
            demo.lines(5).contains {
                $0.hasSuffix(": bind: address already in use") && $0.contains("listen tcp 127.0.0.1:")
            })
    }

    @Test func plainClosesAreCountedHonestly() async throws {
        let run = try await Self.demoRun.value
        #expect(run.status == 0)
        // Whatever each end reported right after its shutdown(), 20 answers, each a state it can be in then.
        for (end, possible) in [("client", ["FIN_WAIT_1", "FIN_WAIT_2"]), ("server", ["LAST_ACK", "CLOSE"])] {
            let line = try #require(run.stdoutLines.first { $0.hasPrefix("  \(end), after sending its FIN: ") })
            let counts = line.matches(of: /([A-Z_0-9]+) ([0-9]+) times/).map { (String($0.1), Int($0.2)!) }
            #expect(counts.map(\.1).reduce(0, +) == 20, "\(line)")
            #expect(counts.allSatisfy { possible.contains($0.0) }, "\(line)")
        }
    }

    @Test func timeWaitOutlivesTheLabAndTheResetLeavesNone() async throws {
        let run = try await Self.demoRun.value
        #expect(run.status == 0)
        let demo = HandshakeDemo(run.stdoutLines)

        // Part 3: the client closed first. The lab has exited, yet the kernel still holds its
        // end of the connection in TIME_WAIT (for 60 s on Linux): we ask the kernel ourselves.
        let (client, server, what) = try #require(try demo.kernelTable(3, end: "client").first)
        #expect(what.hasPrefix("TIME_WAIT, "), "\(what)")
        let connect = try #require(demo.lines(1).first { $0.contains("connect() from ") })
        #expect(
            connect.contains("connect() from \(client) returned"), "the TIME_WAIT is part 1's connection: \(connect)")
        let table = try TCPTable.entries(from: client, to: server)
        #expect(table.map(\.state) == [.timeWait], "kernel table now: \(table)")
        #expect(try TCPTable.entries(from: server, to: client).isEmpty, "the server closed second: no TIME_WAIT")
        #expect(try demo.kernelTable(3, end: "server").first?.2 == "no entry")

        // Part 4: the reset connection left nothing behind, on either end.
        let (resetClient, resetServer, resetWhat) = try #require(try demo.kernelTable(4, end: "client").first)
        #expect(resetWhat == "no entry")
        #expect(try TCPTable.entries(from: resetClient, to: resetServer).isEmpty)
        #expect(try TCPTable.entries(from: resetServer, to: resetClient).isEmpty)

        // Part 5: the server closed first: FIN_WAIT_2, then TIME_WAIT on the server's own port.
        let serverEnd = try demo.kernelTable(5, end: "server")
        #expect(
            serverEnd.map { $0.2.prefix(while: { $0 != "," }) } == ["FIN_WAIT_2", "TIME_WAIT", "TIME_WAIT"],
            "\(serverEnd.map(\.2))")
        let (port, peer, _) = try #require(serverEnd.last)
        let listening = try #require(demo.lines(5).first { $0.contains("server: listen() on ") })
        #expect(listening.contains("listen() on \(port),"))
        #expect(try TCPTable.entries(from: port, to: peer).map(\.state) == [.timeWait])
    }

    @Test func argumentsAreRejected() async throws {
        expectUsageError(try await runLab("handshake", ["extra"]), mentioning: "extra")
    }
}

@Suite struct TCPStates {
    @Test func listenerAndAFullAcceptQueueHoldSynSent() async throws {
        try await onThread {
            let listener = try Listener("tcp", "127.0.0.1:0", backlog: 1)
            defer { listener.close() }
            #expect(try listener.socket.tcpState() == .listen)
            #expect(try listener.socket.acceptQueue() == (0, 1))
            let queued = try (1...2).map { _ in try dial("tcp", listener.address.description) }
            defer { queued.forEach { $0.close() } }
            #expect(try eventually { try listener.socket.acceptQueue().waiting == 2 })

            let client = try Socket(family: listener.address.family, type: .stream, nonblocking: true)
            defer { client.close() }
            #expect(try client.tcpState() == .close, "a socket with no connection yet")
            #expect(try !client.connect(listener.address))
            #expect(try client.tcpState() == .synSent)
            pause(.milliseconds(300))
            #expect(try client.tcpState() == .synSent, "the full queue dropped the SYN: no answer")
        }
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func orderlyCloseLeavesTimeWaitWithTheActiveCloser(host: String) async throws {
        try await onThread {
            let (client, server) = try connectedPair(host)
            defer { client.close(); server.close() }
            let (here, there) = try (#require(client.localAddress), #require(client.remoteAddress))
            #expect(try client.socket.tcpState() == .established)
            #expect(try server.socket.tcpState() == .established)
            #expect(try TCPTable.entries(from: here, to: there).map(\.state) == [.established])
            #expect(try client.socket.bytesAcked() == 1, "the SYN-ACK acknowledged the SYN: ack = x+1")
            try client.write("hello")
            #expect(try server.read(maxLength: 5) == Array("hello".utf8))

            try client.closeWrite()
            #expect([.finWait1, .finWait2].contains(try client.socket.tcpState()))
            #expect(try server.readToEnd().isEmpty)
            #expect(try server.socket.tcpState() == .closeWait)
            #expect(try eventually { try client.socket.tcpState() == .finWait2 })
            #expect(try client.socket.bytesAcked() == 1 + 5 + 1, "the SYN, 5 bytes, the FIN")

            try server.write("still open this way")
            #expect(try client.read(maxLength: 100) == Array("still open this way".utf8))
            try server.closeWrite()
            #expect(try client.readToEnd().isEmpty)
            #expect(try eventually { try server.socket.tcpState() == .close })
            #expect(try client.socket.tcpState() == .close, "the socket says CLOSE; the connection lives on:")
            let entries = try TCPTable.entries(from: here, to: there)
            #expect(entries.map(\.state) == [.timeWait])
            let left = try #require(entries.first?.timer)
            #expect(left > .seconds(1) && left <= .seconds(61), "TIME_WAIT lasts 60 s on Linux: \(left) left")
            #expect(try TCPTable.entries(from: there, to: here).isEmpty)
        }
    }

    @Test func resetLeavesNoTimeWait() async throws {
        try await onThread {
            let (client, server) = try connectedPair()
            defer { server.close() }
            let (here, there) = try (#require(client.localAddress), #require(client.remoteAddress))
            try client.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
            client.close()
            let error = netError { _ = try server.read(maxLength: 1) }
            #expect(error?.code == ECONNRESET, "\(String(describing: error))")
            #expect(try server.socket.tcpState() == .close)
            #expect(try TCPTable.entries(from: here, to: there).isEmpty)
            #expect(try TCPTable.entries(from: there, to: here).isEmpty)
        }
    }

    @Test func readsTheKernelsFormat() throws {
        // Written the way a little-endian kernel writes /proc/net/tcp and /proc/net/tcp6.
        let v4 = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1081 1 0000000052f42770 100 0 0 10 0
               1: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000004e6b051
               2: 0100007F:9C41 0100007F:1F90 01 00000000:00000000 01:FFFFFFFFFFFFFFF6 00000000     0        0 0 3 0000000004e6b051
               3: not a line the kernel writes
            """
        let entries = TCPTable.parse(v4)
        #expect(entries.count == 3)
        let (listening, client) = (Address(ip: .loopbackV4, port: 0x1F90), Address(ip: .loopbackV4, port: 0x9C40))
        #expect(
            entries[0]
                == TCPTable.Entry(
                    local: listening, remote: try Address("0.0.0.0:0"),
                    state: .listen, timer: nil))
        #expect(
            entries[1]
                == TCPTable.Entry(
                    local: client, remote: listening,
                    state: .timeWait, timer: .seconds(60)))
        #expect(entries[2].timer == .zero, "a timer already due is negative: none left, not 584 million years")

        let v6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000001000000:9C40 00000000000000000000000001000000:1F90 05 00000000:00000000 03:00000BB8 00000000     0        0 0 3 0000000000000000
               1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:9C40 08 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000
            """
        let six = TCPTable.parse(v6)
        #expect(
            six.map(\.description) == [
                "[::1]:40000 -> [::1]:8080 FIN_WAIT_2", "127.0.0.1:8080 -> 127.0.0.1:40000 CLOSE_WAIT",
            ])
        #expect(six.first?.timer == .seconds(30))
    }

    @Test func statesPrintWithTheKernelsNames() {
        let states: [TCPState] = [
            .listen, .synSent, .synReceived, .established, .finWait1, .finWait2, .closeWait,
            .closing, .lastAck, .timeWait, .close, .unknown(13),
        ]
        #expect(
            states.map(\.description) == [
                "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT", "CLOSE", "STATE_13",
            ])
    }
}

extension DescriptorLeaks {
    @Test func readingTheKernelTableClosesItsFiles() async throws {
        // Counts only descriptors open on the table's files: other tests' servers may still be
        // closing sockets while a busy machine's long table is read.
        func tableFiles() -> [String] {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
                .filter { $0.hasSuffix("/net/tcp") || $0.hasSuffix("/net/tcp6") }
        }
        let before = tableFiles()
        try await onThread { for _ in 0..<20 { _ = try TCPTable.entries() } }
        #expect(tableFiles() == before, "left open: \(tableFiles())")
    }
}
