// The demo: a thousand connections, each a task suspended in read(), on a few threads;
// a read deadline passing; then the server's task cancelled, and every connection closed.
import AsyncSockets
import EventLoop
import Foundation
import LabKit
import Sockets

func demo() async throws {
    guard DescriptorLimit.raiseToHardLimit() != nil else { throw UsageError("cannot read RLIMIT_NOFILE") }
    let loop = try EventLoop()
    loop.start()
    let listener = try AsyncListener("tcp", "127.0.0.1:0", loop: loop)
    defer { listener.close() }
    try await pause(.milliseconds(50))  // the loop has registered the listener
    let before = try usage()
    say("server: listening on \(listener.address); a task per connection, over one event-loop thread")
    // ANCHOR: demo-hold
    let server = Task { try await serve(listener, connections: nil, echo: true) }
    let count = 1000
    let clients = try await onThread { try (0..<count).map { _ in try greetedAndEchoed(listener.address) } }
    let held = try usage()
    say(
        "\(count) clients connected, each greeted and echoed; \(connectionTasks.load(ordering: .relaxed)) tasks now suspended in read()"
    )
    say("threads: \(before.threads) -> \(held.threads): the event loop's, and the pool's (one per core here)")
    say("descriptors: \(before.descriptors) -> \(held.descriptors) (both ends of \(count) connections)")
    // ANCHOR_END: demo-hold
    say("")
    try await readDeadline(loop)
    say("")
    // ANCHOR: demo-cancel
    server.cancel()
    let outcome = await server.result
    say("cancelled the server's task (\(outcome.isCancelled ? "CancellationError" : "\(outcome)")): its group")
    say("cancelled every connection's task, each woke from read() and closed its connection")
    let ends = try await onThread {
        try clients.map { client in
            defer { client.close() }; return try client.readToEnd()
        }
    }
    say(
        "clients: \(ends.filter(\.isEmpty).count) of \(count) read EOF; connection tasks left: \(connectionTasks.load(ordering: .relaxed))"
    )
    try await pause(.milliseconds(100))
    say("descriptors: \(try usage().descriptors) (before the clients: \(before.descriptors))")
    // ANCHOR_END: demo-cancel
}

/// A client that connects, sends "ping", and checks the greeting and the echo.
@available(*, noasync)
func greetedAndEchoed(_ address: Address) throws -> Connection {
    let client = try dial("tcp", address.description, timeout: .seconds(10))
    client.setReadDeadline(.after(.seconds(10)))
    try client.write("ping")
    var got: [UInt8] = []
    while got.count < greeting.count + 4, case let chunk = try client.read(maxLength: 64), !chunk.isEmpty {
        got += chunk
    }
    guard got == greeting + Array("ping".utf8) else { throw UsageError("got \(quoted(got))") }
    client.setReadDeadline(.after(.seconds(20)))
    return client
}

// ANCHOR: demo-deadline
/// A read deadline, as Go's `SetReadDeadline`: the task waits in read(), the loop's timer
/// fires, and the read fails with `i/o timeout`. The thread was never blocked.
func readDeadline(_ loop: EventLoop) async throws {
    let listener = try AsyncListener("tcp", "127.0.0.1:0", loop: loop)
    defer { listener.close() }
    let quiet = try await onThread { try dial("tcp", listener.address.description) }  // connects, sends nothing
    defer { quiet.close() }
    let connection = try await listener.accept { _, _ in }
    defer { connection.close() }
    connection.setReadDeadline(.after(.milliseconds(200)))
    let start = ContinuousClock.now
    do {
        _ = try await connection.read(maxLength: 64)
        say("read returned, with no deadline passed?")
    } catch let error as NetError where error.isTimeout {
        say("a client that sends nothing, a 200ms read deadline: \(error.op) failed with \"i/o timeout\"")
        say(
            "after \(ContinuousClock.now - start >= .milliseconds(200) ? "at least" : "LESS THAN") 200ms, as Go's SetReadDeadline does"
        )
    }
}
// ANCHOR_END: demo-deadline

extension Result {
    var isCancelled: Bool {
        if case .failure(let error) = self { return error is CancellationError }
        return false
    }
}

func usage() throws -> ProcessUsage {
    guard let usage = ProcessUsage.of() else { throw UsageError("cannot read /proc/self/status") }
    return usage
}

func pause(_ duration: Duration) async throws { try await Task.sleep(for: duration) }

/// Runs blocking code (the demo's clients) on a thread of its own, never on the pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
