// What chapters 11 and 12 promise of `event-loop --echo` and `async-server --echo`: many
// connections at once on a few threads and little memory, a new client served at once
// meanwhile, and every descriptor given back when the clients leave. `make test` runs it
// with 1,000 connections; `make c10k` with 10,000 (C10K_CONNECTIONS).
import EventLoop
import Foundation
import Sockets
import Testing

/// How many connections the many-connections tests hold: 1,000 unless C10K_CONNECTIONS says.
let manyConnections = ProcessInfo.processInfo.environment["C10K_CONNECTIONS"].flatMap { Int($0) } ?? 1000

/// A client that sends "ping" and reads the greeting and its echo.
func greetedAndEchoed(_ address: String, timeout: Duration = .seconds(10)) throws -> Connection {
    let client = try dial("tcp", address, timeout: timeout)
    client.setReadDeadline(.after(timeout))
    try client.write("ping")
    var got: [UInt8] = []
    while got.count < helloBytes.count + 4, case let chunk = try client.read(maxLength: 64), !chunk.isEmpty {
        got += chunk
    }
    guard got == helloBytes + Array("ping".utf8) else {
        client.close()
        throw LabFailure(
            "expected the greeting and the echo, got \(String(decoding: got, as: UTF8.self).debugDescription)")
    }
    return client
}

/// Process `pid`'s descriptor count once it holds still (the same in three looks, 50 ms
/// apart): Swift's runtime opens a few of its own on first use, and a closing connection
/// is still counted for a moment.
func settledDescriptorCount(of pid: Int32) async throws -> Int {
    try await onThread {
        var counts = [openDescriptorCount(of: pid)]
        let limit = ContinuousClock.now + .seconds(5)
        while counts.count < 3 || Set(counts.suffix(3)).count > 1, ContinuousClock.now < limit {
            pause(.milliseconds(50))
            counts.append(openDescriptorCount(of: pid))
        }
        return counts.last!
    }
}

struct ManyConnectionsReport: CustomStringConvertible {
    let connections: Int
    let threads: Int
    let peakMemory: Int
    let descriptorsHeld: Int
    let descriptorsBefore: Int
    let newClient: Duration
    var description: String {
        "\(connections) connections: \(threads) threads, peak resident memory \(ProcessUsage.mebibytes(peakMemory)), "
            + "\(descriptorsHeld) descriptors (\(descriptorsBefore) before), a new client greeted and echoed in \(newClient)"
    }
}

/// Holds `count` echo connections open on `lab`, checks the promises, prints the numbers.
func holdManyConnections(_ lab: String, count: Int) async throws -> ManyConnectionsReport {
    _ = DescriptorLimit.raiseToHardLimit()  // this process holds the clients' ends
    let server = try await RunningLab(lab, ["--listen", "127.0.0.1:0", "--echo"])
    let address = try await server.address
    let pid = server.process.processIdentifier
    // One client first: the runtime opens some descriptors of its own on first use.
    try await onThread { try greetedAndEchoed(address).close() }
    let settledBefore = try await settledDescriptorCount(of: pid)
    let before = try #require(ProcessUsage.of(pid))
    // Eight threads of clients connect at once, each checking its greeting and echo.
    let perThread = (count + 7) / 8
    let clients = try await withThrowingTaskGroup(of: [Connection].self) { group in
        for start in stride(from: 0, to: count, by: perThread) {
            let share = min(perThread, count - start)
            group.addTask { try await onThread { try (0..<share).map { _ in try greetedAndEchoed(address) } } }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
    #expect(clients.count == count)
    let held = try #require(ProcessUsage.of(pid))
    // Meanwhile a new client is served at once, the others still connected.
    let start = ContinuousClock.now
    try await onThread { try greetedAndEchoed(address).close() }
    let newClient = ContinuousClock.now - start
    let report = ManyConnectionsReport(
        connections: count, threads: held.threads, peakMemory: held.peakResidentBytes,
        descriptorsHeld: held.descriptors, descriptorsBefore: before.descriptors, newClient: newClient)
    print("\(lab): \(report)")
    #expect(held.threads <= 8, "\(report)")
    #expect(held.peakResidentBytes < 256 * 1024 * 1024, "\(report)")
    #expect(held.descriptors >= settledBefore + count, "the server should hold every connection: \(report)")
    #expect(newClient < .seconds(1), "\(report)")
    // Every client leaves: the server gives back every descriptor.
    clients.forEach { $0.close() }
    let settled = try await eventually(within: .seconds(20)) { openDescriptorCount(of: pid) == settledBefore }
    #expect(settled, "\(settledBefore) descriptors before, \(openDescriptorCount(of: pid)) after the clients left")
    let result = try await server.stop()
    #expect(result.status == 0)
    #expect(result.stderr.isEmpty, "\(result.stderr)")
    return report
}

@Suite(.serialized) struct ManyConnections {
    @Test(arguments: ["event-loop", "async-server"])
    func holdThemOnFewThreadsAndGiveBackEveryDescriptor(lab: String) async throws {
        _ = try await holdManyConnections(lab, count: manyConnections)
    }
}

/// The contract both servers keep, each checked against both labs.
@Suite struct EventServers {
    @Test(arguments: ["event-loop", "async-server"])
    func greetThenCloseGracefullyEvenWhenTheClientWroteFirst(lab: String) async throws {
        let server = try await RunningLab(lab, ["--listen", "127.0.0.1:0", "--count", "40"])
        let address = try await server.address
        let replies = try await onThread {
            try (0..<40).map { index in
                let client = try dial("tcp", address, timeout: .seconds(10))
                defer { client.close() }
                client.setReadDeadline(.after(.seconds(10)))
                // Half the clients write first, as a browser or `echo | nc` would: closing with
                // their bytes unread would send RST, and the greeting could be lost.
                if index % 2 == 0 { try client.write("GET / HTTP/1.0\r\n\r\n") }
                return try client.readToEnd()
            }
        }
        #expect(replies == Array(repeating: helloBytes, count: 40))
        let result = try await server.wait()
        #expect(result.status == 0, "--count 40 should stop it after 40 connections: \(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test(arguments: ["event-loop", "async-server"])
    func echoesMegabytesExactlyThroughPartialWrites(lab: String) async throws {
        let server = try await RunningLab(lab, ["--listen", "127.0.0.1:0", "--echo"])
        let address = try await server.address
        // 4 MiB, far more than the socket buffers hold: the server's writes come back
        // partial or EAGAIN, and it must keep the rest and finish it on EPOLLOUT.
        // Built, and compared below, on a thread of its own: megabytes of work in a debug build
        // would hold one of the pool's two threads for seconds, and stall every other test.
        let payload = try await onThread {
            (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        }
        let client = try await onThread { try dial("tcp", address, timeout: .seconds(10)) }
        defer { client.close() }
        client.setReadDeadline(.after(.seconds(60)))
        let writer = Thread {
            try? client.write(payload)
            try? client.closeWrite()
        }
        writer.start()
        let echoed = try await onThread { try client.readToEnd() }
        let exact = try await onThread { echoed == helloBytes + payload }
        #expect(echoed.count == helloBytes.count + payload.count)
        #expect(exact, "the echo differs from what was sent")
        #expect(try await server.stop().status == 0)
    }

    @Test(arguments: ["event-loop", "async-server"])
    func aClientThatOnlySendsCannotMakeTheServerBufferWithoutBound(lab: String) async throws {
        let server = try await RunningLab(lab, ["--listen", "127.0.0.1:0", "--echo"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        let before = try #require(ProcessUsage.of(pid))
        // Sends 64 MiB and never reads: once the server owes it a bounded amount, it stops
        // reading, the kernel's buffers fill, and our write cannot finish.
        let sent = try await onThread {
            let client = try dial("tcp", address, timeout: .seconds(10))
            defer { client.close() }
            client.setWriteDeadline(.after(.seconds(3)))
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            var total = 0
            while total < 64 << 20 {
                do { try client.write(chunk) } catch { break }
                total += chunk.count
            }
            return total
        }
        let after = try #require(ProcessUsage.of(pid))
        #expect(sent < 64 << 20, "the server kept reading what it could not send back")
        #expect(
            after.residentBytes - before.residentBytes < 32 << 20,
            "before \(before.residentBytes), after \(after.residentBytes)")
        #expect(server.process.isRunning)
        #expect(try await server.stop().status == 0)
    }

    @Test(arguments: ["event-loop", "async-server"])
    func clientsThatResetAreDroppedAloneAndEveryDescriptorIsClosed(lab: String) async throws {
        let server = try await RunningLab(lab, ["--listen", "127.0.0.1:0", "--echo"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        try await onThread { try greetedAndEchoed(address).close() }  // the runtime's own descriptors, first
        let before = try await settledDescriptorCount(of: pid)
        let greeted = try await onThread {
            try (0..<30).map { _ in
                try dial("tcp", address).close()
                let resetter = try dial("tcp", address)
                try resetter.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
                try resetter.write("x")
                resetter.close()
                let polite = try greetedAndEchoed(address)
                polite.close()
                return true
            }
        }
        #expect(greeted.count == 30)
        let settled = try await eventually { openDescriptorCount(of: pid) == before }
        #expect(settled, "\(before) descriptors before, \(openDescriptorCount(of: pid)) after")
        let result = try await server.stop()
        #expect(result.status == 0)
        // A reset is one Go-style line about that connection, never a crash.
        let lines = result.stderr.split(separator: "\n")
        #expect(
            lines.allSatisfy {
                $0.contains("connection reset by peer") || $0.contains("broken pipe") || $0.contains("connection abort")
            }, "\(lines)")
    }

    @Test(arguments: ["event-loop", "async-server"])
    func servesIPv6(lab: String) async throws {
        let server = try await RunningLab(lab, ["--listen", "[::1]:0", "--count", "1"])
        let address = try await server.address
        #expect(address.hasPrefix("[::1]:"))
        #expect(try await onThread { try fetchAll(from: address) } == helloBytes)
        #expect(try await server.wait().status == 0)
    }

    @Test(arguments: [
        (["--listen", "127.0.0.1:0", "--count", "0"], "--count"),
        (["--count", "3"], "--count"),
        (["--echo"], "--echo"),
        (["--listen", "127.0.0.1"], "--listen"),
        (["--listen"], "--listen"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], flag: String) async throws {
        for lab in ["event-loop", "async-server"] {
            expectUsageError(try await runLab(lab, arguments), mentioning: flag)
        }
    }

    @Test(arguments: ["event-loop", "async-server"])
    func anAddressInUseIsOneGoLineAndExitOne(lab: String) async throws {
        let taken = try Listener("tcp", "127.0.0.1:0")
        defer { taken.close() }
        let run = try await runLab(lab, ["--listen", taken.address.description])
        expectNetworkError(run, "listen tcp \(taken.address): bind: address already in use")
    }
}
