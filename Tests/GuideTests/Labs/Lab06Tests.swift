// Lab 6 `hello-server`: the demo, and the server role against hundreds of clients at once,
// clients that hang up or reset, a process out of descriptors, SIGTERM, and Python.
import Foundation
import Sockets
import Testing

let helloBytes = Array("Hello World!\r\n".utf8)

/// A client: connect, read until EOF (no wait longer than 10 s), return every byte.
func fetchAll(from address: String) throws -> [UInt8] {
    let connection = try dial("tcp", address, timeout: .seconds(10))
    defer { connection.close() }
    connection.setReadDeadline(.after(.seconds(10)))
    return try connection.readToEnd()
}

/// Opens `count` connections first, then reads each to EOF: the server has them all at once.
func openAllThenRead(_ count: Int, from address: String) throws -> [[UInt8]] {
    try readEachToEnd(try (0..<count).map { _ in try dial("tcp", address, timeout: .seconds(10)) })
}

/// Reads each connection to EOF, in order, then closes them all.
func readEachToEnd(_ connections: [Connection]) throws -> [[UInt8]] {
    defer { connections.forEach { $0.close() } }
    return try connections.map { connection in
        connection.setReadDeadline(.after(.seconds(10)))
        return try connection.readToEnd()
    }
}

@Suite struct Lab06HelloServer {
    @Test func demoServesClientsAtOnceAndMeasuresTheCostOfOneBytePerWrite() async throws {
        let run = try await runLab("hello-server")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.isEmpty)
        let clients = run.stdoutLines.filter { $0.hasPrefix("client ") }
        #expect(clients.count == 5)
        #expect(
            clients.allSatisfy { $0.contains(#": "Hello World!\r\n", all 14 bytes; read() calls before EOF: "#) },
            "\(clients)")

        // The three ways: how many send() calls, segments, reads, and how long each took.
        let ways = run.stdoutLines.compactMap { line in
            line.firstMatch(of: /: +([0-9]+) send\(\) calls, ([0-9]+) segments, ([0-9]+) reads, (.+)$/)
        }
        try #require(ways.count == 3, "\(run.stdoutLines)")
        #expect(ways.map { Int($0.1) } == [2000, 28000, 28000])
        let segments = ways.map { Int($0.2)! }
        #expect(segments[0] <= 2000, "one write per greeting cannot make more segments than writes")
        #expect(segments[2] > segments[0], "TCP_NODELAY with one byte per write should send more segments: \(segments)")
        let times = try ways.map { try Duration(go: String($0.4)) }
        #expect(times[1] > times[0] && times[2] > times[0], "one byte per write should be slower: \(times)")
    }

    @Test func hundredsOfConcurrentClientsEachGetTheExactBytes() async throws {
        let lab = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let address = try await lab.address
        let pid = lab.process.processIdentifier
        let before = openDescriptorCount(of: pid)
        // 8 threads of 25 clients: 200 connections open at the server at the same time.
        let greetings = try await withThrowingTaskGroup(of: [[UInt8]].self) { group in
            for _ in 0..<8 { group.addTask { try await onThread { try openAllThenRead(25, from: address) } } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(greetings.count == 200)
        #expect(greetings.allSatisfy { $0 == helloBytes })
        // Every connection's descriptor is closed again once its thread is done.
        let settled = try await eventually { openDescriptorCount(of: pid) == before }
        #expect(settled, "the server had \(before) descriptors open before, \(openDescriptorCount(of: pid)) after")
        let result = try await lab.stop()
        #expect(result.status == 0, "SIGTERM should stop it with status 0")
        #expect(result.lines.filter { $0.hasSuffix(#": sent "Hello World!\r\n" in 14 writes"#) }.count == 200)
        #expect(result.stderr.isEmpty)
    }

    @Test func clientsThatHangUpEarlyOrResetDisturbNoOne() async throws {
        let lab = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let address = try await lab.address
        let pid = lab.process.processIdentifier
        let before = openDescriptorCount(of: pid)
        let polite = try await onThread {
            try (0..<20).map { _ in
                // One client closes at once (FIN), one resets (RST), then one reads politely.
                try dial("tcp", address).close()
                let resetter = try dial("tcp", address)
                try resetter.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
                resetter.close()
                return try fetchAll(from: address)
            }
        }
        #expect(polite.allSatisfy { $0 == helloBytes }, "\(polite.map { String(decoding: $0, as: UTF8.self) })")
        let settled = try await eventually { openDescriptorCount(of: pid) == before }
        #expect(settled, "the server had \(before) descriptors open before, \(openDescriptorCount(of: pid)) after")
        // Still serving (no SIGPIPE killed it), and it stops cleanly.
        #expect(try await onThread { try fetchAll(from: address) } == helloBytes)
        #expect(lab.process.isRunning)
        let result = try await lab.stop()
        #expect(result.status == 0)
        // Every one of the 61 connections ended in exactly one line: served (stdout) or why
        // not (stderr), and a failure is one Go-style line about that connection only.
        let served = result.lines.filter { $0.hasSuffix(" in 14 writes") }
        let failed = result.stderr.split(separator: "\n").map(String.init)
        #expect(served.count + failed.count == 61, "served \(served.count), failed: \(failed)")
        let oneConnection =
            /(write|accept) tcp 127\.0\.0\.1:[0-9]+(->127\.0\.0\.1:[0-9]+)?: (write|accept): (broken pipe|connection reset by peer|software caused connection abort)/
        #expect(failed.allSatisfy { $0.wholeMatch(of: oneConnection) != nil }, "\(failed)")
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func countStopsOnceThatManyConnectionsAreServed(host: String) async throws {
        let bind = host.contains(":") ? "[\(host)]:0" : "\(host):0"
        let lab = try await RunningLab("hello-server", ["--listen", bind, "--count", "3"])
        let address = try await lab.address
        #expect(address.hasPrefix(host.contains(":") ? "[::1]:" : "127.0.0.1:"))
        // All three connected before any reads: had the server exited after its third accept
        // rather than after serving it, the last greeting would come back short.
        let greetings = try await onThread { try openAllThenRead(3, from: address) }
        let result = try await lab.wait()
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(greetings == Array(repeating: helloBytes, count: 3))
        #expect(result.lines.dropFirst().count == 3, "\(result.lines)")
        #expect(result.lines.dropFirst().allSatisfy { $0.hasSuffix(#": sent "Hello World!\r\n" in 14 writes"#) })
    }

    @Test func anOutsideClientGetsTheGreeting() async throws {
        let lab = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0", "--count", "1"])
        let port = try await lab.address.split(separator: ":").last!
        let python = try PythonPeer(
            """
            import socket
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=10)
            data = b""
            while chunk := s.recv(1024):
                data += chunk
            print(repr(data), flush=True)
            """)
        #expect(try await python.firstLine() == #"b'Hello World!\r\n'"#)
        await python.stop()
        #expect(try await lab.wait().status == 0)
    }

    @Test func runningOutOfDescriptorsIsLoggedAndWaitedOutWithoutSpinning() async throws {
        let lab = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let address = try await lab.address
        let pid = lab.process.processIdentifier
        #expect(try await onThread { try fetchAll(from: address) } == helloBytes)
        // Lower the server's descriptor limit below every free descriptor number: accept()
        // fails with EMFILE from now on (Python's resource.prlimit, on the running process).
        let originalLimit = try await setDescriptorLimit(of: pid, to: "3")
        // Two clients wait in the accept queue while the server cannot take them.
        let waiting = try await onThread { try (0..<2).map { _ in try dial("tcp", address, timeout: .seconds(5)) } }
        await pause(.milliseconds(1500))
        #expect(lab.process.isRunning)
        _ = try await setDescriptorLimit(of: pid, to: originalLimit)
        // With descriptors back, the waiting clients are served.
        let greetings = try await onThread { try readEachToEnd(waiting) }
        #expect(greetings == [helloBytes, helloBytes])
        let result = try await lab.stop()
        #expect(result.status == 0)
        let emfile = result.stderr.split(separator: "\n").filter {
            $0.contains(": accept4: too many open files; retrying in ")
        }
        // At least one EMFILE, each logged once, and few of them: 5 ms doubling to 1 s makes
        // about nine tries in 1.5 s. Retrying at once would have made thousands.
        #expect(emfile.count >= 1 && emfile.count <= 20, "\(emfile.count) EMFILE lines, starting: \(emfile.prefix(3))")
        #expect(
            emfile.first?.hasPrefix("accept tcp \(address): accept4: too many open files; retrying in 5ms") == true,
            "\(result.stderr)")
    }

    @Test(arguments: [
        (["--listen", "127.0.0.1:0", "--count", "0"], "--count"),
        (["--listen", "127.0.0.1:0", "--count", "many"], "--count"),
        (["--count", "3"], "--count"),
        (["--listen", "127.0.0.1"], "--listen"),
        (["--listen"], "--listen"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], flag: String) async throws {
        expectUsageError(try await runLab("hello-server", arguments), mentioning: flag)
    }

    @Test func anAddressInUseIsOneGoLineAndExitOne() async throws {
        let taken = try Listener("tcp", "127.0.0.1:0")
        defer { taken.close() }
        let run = try await runLab("hello-server", ["--listen", taken.address.description])
        expectNetworkError(run, "listen tcp \(taken.address): bind: address already in use")
    }
}
