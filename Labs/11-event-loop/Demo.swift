// The demo: the same number of connections held open twice, first by the event loop on
// one thread, then by lab 6's design, a thread per connection; what each costs, read from
// /proc/self/status (threads, memory) and /proc/self/fd (descriptors).
import EventLoop
import Foundation
import LabKit
import Sockets
import Synchronization

func demo() throws {
    // ANCHOR: limit
    guard let limit = DescriptorLimit.raiseToHardLimit() else { throw UsageError("cannot read RLIMIT_NOFILE") }
    say("descriptor limit (RLIMIT_NOFILE): soft limit raised from \(limit.before) to the hard limit, \(limit.after)")
    // Each connection costs this process two descriptors: the client's end and the server's.
    let connections = min(2000, (limit.after - 64) / 2)
    // ANCHOR_END: limit
    say("each server holds \(connections) echo connections; the clients are in this process too")
    say("")
    let loopCost = try hold(connections, server: "event loop (one thread, epoll)", startEventLoop)
    let threadCost = try hold(connections, server: "thread per connection (lab 6's design)", startThreadPerConnection)
    say("")
    say("=> \(connections) connections held: the event loop took \(loopCost.threads) thread and")
    say("   \(ProcessUsage.mebibytes(loopCost.memory)); a thread per connection took \(threadCost.threads) threads and")
    say("   \(ProcessUsage.mebibytes(threadCost.memory)). A thread blocked in read() still has a stack, a kernel")
    say("   task and a place in the scheduler; a connection in the event loop is a descriptor and a few bytes")
}

/// A running server and how to stop it.
struct Running {
    let address: Address
    let open: @Sendable () -> Int
    let stop: () -> Void
}

/// Starts a server, opens `count` connections that each get the greeting and one echo,
/// prints what the process gained, then closes the clients and waits for the server to
/// let go of every descriptor.
func hold(_ count: Int, server name: String, _ start: () throws -> Running) throws -> (threads: Int, memory: Int) {
    let before = try usage()
    let server = try start()
    defer { server.stop() }
    var clients: [Connection] = []
    defer { clients.forEach { $0.close() } }
    for _ in 0..<count {
        let client = try dial("tcp", server.address.description, timeout: .seconds(10))
        clients.append(client)
        client.setReadDeadline(.after(.seconds(10)))
        try client.write("ping")
        var got: [UInt8] = []
        while got.count < greeting.count + 4, case let chunk = try client.read(maxLength: 64), !chunk.isEmpty {
            got += chunk
        }
        guard got == greeting + Array("ping".utf8) else { throw UsageError("\(name): got \(quoted(got))") }
    }
    let held = try usage()
    let threads = held.threads - before.threads
    let memory = max(0, held.residentBytes - before.residentBytes)
    say("\(name):")
    say("  \(server.open()) connections open, each greeted and echoed")
    say("  threads: \(before.threads) -> \(held.threads) (+\(threads))")
    say("  descriptors: \(before.descriptors) -> \(held.descriptors) (+\(held.descriptors - before.descriptors))")
    say("  resident memory: +\(ProcessUsage.mebibytes(memory))")
    clients.forEach { $0.close() }
    clients.removeAll()
    let deadline = Deadline.after(.seconds(10))
    while server.open() > 0 && !deadline.hasPassed { Poll.sleep(.milliseconds(10)) }
    say("  clients closed: \(server.open()) connections left open")
    return (threads, memory)
}

func usage() throws -> ProcessUsage {
    guard let usage = ProcessUsage.of() else { throw UsageError("cannot read /proc/self/status") }
    return usage
}

// ANCHOR: demo-loop
/// The event-loop server, its loop on one thread of its own.
func startEventLoop() throws -> Running {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let loop = try EventLoop()
    let counts = ServerCounts()
    loop.execute {
        try? Server(listener, loop: loop, echo: true, limit: nil, counts: counts).start()
    }
    let finished = DispatchSemaphore(value: 0)
    let thread = Thread {
        try? loop.run()
        finished.signal()
    }
    thread.start()
    return Running(
        address: listener.address, open: { counts.open.load(ordering: .relaxed) },
        stop: {
            loop.stop()
            finished.wait()
            listener.close()
        })
}
// ANCHOR_END: demo-loop

// ANCHOR: demo-threads
/// Lab 6's design with an echo: an accept loop, and a thread blocked in `read` for each
/// connection. Every thread has its own stack, its own kernel task, its own scheduling.
func startThreadPerConnection() throws -> Running {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let open = Atomic<Int>(0)
    let acceptor = BackgroundThread("accept") {
        while let connection = try? listener.accept() {
            open.add(1, ordering: .relaxed)
            _ = BackgroundThread("connection") {
                defer {
                    connection.close()
                    open.subtract(1, ordering: .relaxed)
                }
                try? connection.write(greeting)
                while let bytes = try? connection.read(maxLength: 4096), !bytes.isEmpty {
                    try? connection.write(bytes)
                }
            }
        }
    }
    return Running(
        address: listener.address, open: { open.load(ordering: .relaxed) },
        stop: {
            listener.close()
            acceptor.join()
        })
}
// ANCHOR_END: demo-threads
