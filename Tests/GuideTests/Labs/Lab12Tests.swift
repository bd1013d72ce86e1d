// Lab 12 `async-server`: the demo, and the async sockets themselves: a waiting task is
// suspended, not blocking a thread; deadlines, cancellation and close end the wait.
// (What it shares with lab 11 is in EventServers.swift.)
import AsyncSockets
import EventLoop
import Foundation
import Sockets
import Testing

@Suite struct Lab12AsyncServer {
    @Test func demoHoldsAThousandTasksTimesOneOutAndCancelsThemAll() async throws {
        let run = try await runLab("async-server")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.isEmpty)
        let lines = run.stdoutLines
        #expect(lines.contains("1000 clients connected, each greeted and echoed; 1000 tasks now suspended in read()"))
        // The process also runs the demo's clients; the server's part is the loop and the pool.
        let threads = try #require(lines.lazy.compactMap { $0.firstMatch(of: /^threads: ([0-9]+) -> ([0-9]+):/) }.first)
        #expect(Int(threads.2)! - Int(threads.1)! <= 3, "\(lines)")
        #expect(lines.contains(#"a client that sends nothing, a 200ms read deadline: read failed with "i/o timeout""#))
        #expect(lines.contains("after at least 200ms, as Go's SetReadDeadline does"))
        #expect(lines.contains("cancelled the server's task (CancellationError): its group"))
        #expect(lines.contains("clients: 1000 of 1000 read EOF; connection tasks left: 0"))
        let fds = try #require(lines.last?.firstMatch(of: /^descriptors: ([0-9]+) \(before the clients: ([0-9]+)\)$/))
        #expect(fds.1 == fds.2, "\(lines)")
    }

    /// A listener and a connected pair: `client` is blocking (for this test's threads),
    /// `server` is the async end.
    func pair(_ loop: EventLoop) async throws -> (AsyncListener, Connection, AsyncConnection) {
        let listener = try AsyncListener("tcp", "127.0.0.1:0", loop: loop)
        let client = try await onThread { try dial("tcp", listener.address.description) }
        let server = try await listener.accept { _, _ in }
        return (listener, client, server)
    }

    @Test func aReadSuspendsTheTaskUntilTheLoopSeesData() async throws {
        let loop = try EventLoop()
        loop.start()
        defer { loop.stop() }
        let (listener, client, server) = try await pair(loop)
        defer { listener.close(); client.close(); server.close() }
        // More suspended reads than the pool has threads: were a read blocking its thread,
        // the pool would be stuck and the write below would never run.
        let extra = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            var pairs: [(Connection, AsyncConnection)] = []
            for _ in 0..<16 {
                let (l, c, s) = try await pair(loop)
                l.close()
                pairs.append((c, s))
                group.addTask { try await s.read(maxLength: 16) }
            }
            try await Task.sleep(for: .milliseconds(100))
            for (c, _) in pairs { try await onThread { try c.write("ready") } }
            let all = try await group.reduce(into: []) { $0.append($1) }
            pairs.forEach {
                $0.0.close(); $0.1.close()
            }
            return all
        }
        #expect(extra == Array(repeating: Array("ready".utf8), count: 16))
        try await onThread { try client.write("hello") }
        #expect(try await server.read(maxLength: 16) == Array("hello".utf8))
    }

    @Test func aDeadlineEndsTheWaitWithIOTimeout() async throws {
        let loop = try EventLoop()
        loop.start()
        defer { loop.stop() }
        let (listener, client, server) = try await pair(loop)
        defer { listener.close(); client.close(); server.close() }
        server.setReadDeadline(.after(.milliseconds(150)))
        let start = ContinuousClock.now
        let error = await #expect(throws: NetError.self) { try await server.read(maxLength: 16) }
        #expect(error?.isTimeout == true, "\(String(describing: error))")
        #expect(ContinuousClock.now - start >= .milliseconds(150))
        #expect(error.map { "\($0)" }?.hasSuffix(": i/o timeout") == true)
    }

    @Test func cancellingTheTaskEndsItsWaitAtOnce() async throws {
        let loop = try EventLoop()
        loop.start()
        defer { loop.stop() }
        let (listener, client, server) = try await pair(loop)
        defer { listener.close(); client.close(); server.close() }
        let reader = Task { try await server.read(maxLength: 16) }
        try await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        let outcome = await reader.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        // The connection still works for the next read.
        try await onThread { try client.write("after") }
        #expect(try await server.read(maxLength: 16) == Array("after".utf8))
    }

    @Test func closingTheConnectionWakesAWaitingReadAndClosesTheSocket() async throws {
        let loop = try EventLoop()
        loop.start()
        defer { loop.stop() }
        let (listener, client, server) = try await pair(loop)
        defer { listener.close(); client.close() }
        let reader = Task { try await server.read(maxLength: 16) }
        try await Task.sleep(for: .milliseconds(50))
        server.close()
        let outcome = await reader.result
        let error = #expect(throws: NetError.self) { try outcome.get() }
        #expect(error.map { "\($0)" }?.hasSuffix(": use of closed network connection") == true)
        // The loop closed the descriptor: the client reads EOF.
        client.setReadDeadline(.after(.seconds(5)))
        #expect(try await onThread { try client.readToEnd() } == [])
    }
}
