// Lab 12: Swift concurrency over lab 11's event loop. A task per connection, as Go has a
// goroutine per connection; a read with nothing to read suspends the task (a continuation
// the loop resumes), never a thread. Deadlines, cancellation, and shutdown through a task
// group. The demo holds a thousand tasks on a handful of threads, times one out, then
// cancels the server and watches every connection close.
import AsyncSockets
import EventLoop
import Foundation
import LabKit
import Sockets
import Synchronization

let lab = Lab(
    name: "async-server",
    usage: """
        async-server: async/await over an epoll event loop, a task per connection.

        usage:
          async-server                                    run the demo on loopback (what `make lab-12` does)
          async-server --listen ADDR [--count N] [--echo] listen on ADDR (host:port, IPv6 as [::1]:port; port 0:
                                                          the kernel picks), print `listening on HOST:PORT`, then
                                                          send every client "Hello World!\\r\\n" and close; with
                                                          --echo, send back every byte received until the client
                                                          closes. A task per connection; stop once N connections
                                                          are done (or on Ctrl-C). The descriptor limit is raised
                                                          to its hard limit first (RLIMIT_NOFILE)
          async-server --help                             this text
        """)

lab.run { arguments in
    let address = try arguments.address("--listen")
    let count = try arguments.count("--count")
    let echo = arguments.flag("--echo")
    try arguments.finish()
    guard let address else {
        if count != nil || echo { throw UsageError("--count and --echo go with --listen") }
        return try waitFor { try await demo() }
    }
    _ = DescriptorLimit.raiseToHardLimit()
    // One loop per core (at most four): each watches its share of the connections and
    // runs their tasks; the first also watches the listener and runs the accept loop.
    let loops = try EventLoopGroup()
    loops.start()
    let listener = try AsyncListener("tcp", address, loops: loops)
    say("listening on \(listener.address)")
    try waitFor {
        try await withTaskExecutorPreference(loops.loops[0]) {
            try await serve(listener, connections: count, echo: echo)
        }
    }
}

/// Runs `body` as a task and blocks this thread (the main thread, never one of the pool's)
/// until it is done: the bridge from a command-line `main` into Swift concurrency.
func waitFor(_ body: @escaping @Sendable () async throws -> Void) throws {
    let outcome = Mutex<Result<Void, Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            try await body()
            outcome.withLock { $0 = .success(()) }
        } catch {
            outcome.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    try outcome.withLock { $0 }?.get()
}
