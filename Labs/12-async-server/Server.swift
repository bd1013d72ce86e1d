// The async server: an accept loop adding a task per connection to a task group.
import AsyncSockets
import LabKit
import Sockets
import Synchronization

/// The source's greeting, in one write.
nonisolated var greeting: [UInt8] { Array("Hello World!\r\n".utf8) }

/// A client that does not take its bytes within this time is dropped; so is one that
/// keeps its end open this long after the greeting (without --echo).
let writeTimeout = Duration.seconds(10)
let lingerTimeout = Duration.seconds(5)

/// How many connection tasks are running (the demo watches it from its own thread).
let connectionTasks = Atomic<Int>(0)

// ANCHOR: serve
/// Go's `for { conn, _ := ln.Accept(); go handle(conn) }`, with a task where Go starts a
/// goroutine, in a task group: the group does not return before every connection's task
/// has, and when the accept loop ends with an error (the listener closed, the serving
/// task cancelled) the group cancels every connection's task, then waits for them. Each
/// task prefers its connection's event loop as executor: it runs on that loop's thread,
/// as a goroutine runs on the P whose netpoller woke it.
func serve(_ listener: AsyncListener, connections limit: Int?, echo: Bool) async throws {
    try await withThrowingDiscardingTaskGroup { group in
        var accepted = 0
        while limit.map({ accepted < $0 }) ?? true {
            let connection = try await listener.accept { error, retryIn in
                warn(retryIn > .zero ? "\(error); retrying in \(shown(retryIn))" : "\(error)")
            }
            accepted += 1
            group.addTask(executorPreference: connection.loop) {
                connectionTasks.add(1, ordering: .relaxed)
                defer { connectionTasks.subtract(1, ordering: .relaxed) }
                await handleConnection(connection, echo: echo)
            }
        }
        listener.close()
    }
}
// ANCHOR_END: serve

// ANCHOR: handle
/// One connection's task. Each `await` may suspend it until the event loop sees the socket
/// ready; a thread of the pool runs other tasks meanwhile. Cancellation (the server shutting
/// down) ends the wait at once with CancellationError, and `defer` closes the connection.
func handleConnection(_ connection: AsyncConnection, echo: Bool) async {
    // BEGIN SOLUTION: write the greeting (a write deadline first); with echo, read into a 4 KiB buffer and write back each chunk until read returns 0; without, closeWrite, then read (a linger deadline) until the client's EOF; close on every path, and warn about any error but cancellation § A task per connection
    defer { connection.close() }
    do {
        connection.setWriteDeadline(.after(writeTimeout))
        try await connection.write(greeting)
        var buffer = [UInt8](repeating: 0, count: 4096)
        if echo {
            while case let count = try await connection.read(into: &buffer), count > 0 {
                connection.setWriteDeadline(.after(writeTimeout))
                try await connection.write(Array(buffer[..<count]))
            }
        } else {
            // FIN after the greeting, then wait for the client's: closing with its bytes
            // unread would send RST, and a client that wrote first could lose the greeting.
            try connection.closeWrite()
            connection.setReadDeadline(.after(lingerTimeout))
            while try await connection.read(into: &buffer) > 0 {}
        }
    } catch is CancellationError {
        return
    } catch {
        warn("\(error)")
    }
    // END SOLUTION
}
// ANCHOR_END: handle
