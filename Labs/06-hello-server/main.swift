// Lab 6: the source's hello server. Listen, accept in a loop, a thread per connection,
// "Hello World!\r\n" one byte per write, close. The demo serves several clients at once,
// then measures what writing one byte at a time costs.
import Foundation
import LabKit
import Sockets
import Synchronization

/// What the server sends every client. (Computed: a stored global in main.swift would be
/// set only when the top-level code reaches it, and `lab.run` below never returns.)
nonisolated var greeting: [UInt8] { Array("Hello World!\r\n".utf8) }

let lab = Lab(
    name: "hello-server",
    usage: """
        hello-server: accept in a loop, a thread per connection, "Hello World!\\r\\n" one byte per write().

        usage:
          hello-server                             run the demo on loopback (what `make lab-6` does)
          hello-server --listen ADDR [--count N]   listen on ADDR (host:port, IPv6 as [::1]:port; port 0:
                                                   the kernel picks), print `listening on HOST:PORT`, then
                                                   greet every client that connects, each on its own thread;
                                                   stop once N connections have been served (or on Ctrl-C)
          hello-server --help                      this text
        """)

lab.run { arguments in
    let address = try arguments.address("--listen")
    let count = try arguments.count("--count")
    try arguments.finish()
    guard let address else {
        if count != nil { throw UsageError("--count goes with --listen") }
        return try demo()
    }
    let listener = try Listener("tcp", address)
    say("listening on \(listener.address)")
    try serve(listener, connections: count, narrate: true)
}

// ANCHOR: serve
/// Go's `for { conn, err := ln.Accept(); …; go handleConnection(conn) }`, with a thread
/// where Go starts a goroutine. `accept` errors that concern one connection, or a passing
/// lack of descriptors, are logged and the loop goes on (see `Listener.accept(reporting:)`).
/// `Serving` starts the threads (a connection is closed, not leaked, if none can be had)
/// and stops the loop on SIGINT/SIGTERM, letting the connections in progress finish.
/// With a limit, stop accepting after that many connections. Either way, return once
/// every connection accepted has been served to the end.
func serve(_ listener: Listener, connections limit: Int?, narrate: Bool) throws {
    let connections = Serving(listener)
    defer { connections.finish() }
    var accepted = 0
    while limit.map({ accepted < $0 }) ?? true {
        let connection = try listener.accept { error, retryIn in
            warn(retryIn > .zero ? "\(error); retrying in \(shown(retryIn))" : "\(error)")
        }
        accepted += 1
        connections.start("connection", orElse: connection.close) {
            handleConnection(connection, narrate: narrate)
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: handle
/// The source's `handleConnection`: the greeting one byte per write, then close. A client
/// that hung up ends this connection only: the write fails with EPIPE or ECONNRESET (we
/// send with MSG_NOSIGNAL, so never SIGPIPE), we log it, and `defer` closes the descriptor.
func handleConnection(_ connection: Connection, narrate: Bool) {
    // BEGIN SOLUTION: send the greeting one byte per write (writeGreeting), narrate it if asked, log a failed write with warn, and close the connection on every path § Closing each connection
    defer { connection.closeGracefully() }  // FIN, then the client's unread bytes: no reset (chapter 10)
    let peer = connection.remoteAddress.map(\.description) ?? "?"
    do {
        try writeGreeting(to: connection, bytesPerWrite: 1)
        if narrate { say("\(peer): sent \(quoted(greeting)) in \(greeting.count) writes") }
    } catch {
        warn("\(error)")
    }
    // END SOLUTION
}

/// The greeting, `bytesPerWrite` bytes per `send()`: 1 is the source's choice.
func writeGreeting(to connection: Connection, bytesPerWrite: Int) throws(NetError) {
    let message = greeting
    for start in stride(from: 0, to: message.count, by: bytesPerWrite) {
        try connection.write(Array(message[start..<min(start + bytesPerWrite, message.count)]))
    }
}
// ANCHOR_END: handle

// ANCHOR: client
/// A client: connect, read until EOF. Returns the bytes and how many reads it took.
func fetchGreeting(from address: Address) throws -> (bytes: [UInt8], reads: Int) {
    let connection = try dial("tcp", address.description, timeout: .seconds(10))
    defer { connection.close() }
    connection.setReadDeadline(.after(.seconds(10)))  // a demo must end, even if the server hangs
    var bytes: [UInt8] = [], reads = 0
    var buffer = [UInt8](repeating: 0, count: 1024)
    while case let count = try connection.read(into: &buffer), count > 0 {
        reads += 1
        bytes += buffer[..<count]
    }
    return (bytes, reads)
}
// ANCHOR_END: client

func demo() throws {
    try severalClientsAtOnce()
    say("")
    try oneByteAtATime()
    say("")
    try silentClientsLeak()
}

// ANCHOR: demo-clients
func severalClientsAtOnce() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    let clients = 5
    say("server: listening on \(listener.address); a thread per connection, \(quoted(greeting)) one byte per write()")
    let server = BackgroundThread("server") { try? serve(listener, connections: clients, narrate: false) }
    let results = Mutex<[Int: Result<(bytes: [UInt8], reads: Int), Error>]>([:])
    let threads = (1...clients).map { number in
        BackgroundThread("client \(number)") {
            let result = Result { try fetchGreeting(from: listener.address) }
            results.withLock { $0[number] = result }
        }
    }
    threads.forEach { $0.join() }
    server.join()
    for number in 1...clients {
        switch results.withLock({ $0[number] }) {
        case .success(let (bytes, reads)):
            let exact = bytes == greeting ? "all \(greeting.count) bytes" : "NOT the greeting"
            say("client \(number): \(quoted(bytes)), \(exact); read() calls before EOF: \(reads)")
        case .failure(let error): say("client \(number): \(error)")
        case nil: say("client \(number): no result")
        }
    }
    say("=> \(clients) clients served at once, each by its own server thread; a read() returns whatever")
    say("   one-byte writes have arrived by then, so the number of reads varies from run to run")
}
// ANCHOR_END: demo-clients

// ANCHOR: measure
/// What one byte per write costs: `greetings` greetings over one loopback connection,
/// `bytesPerWrite` bytes per `send()`, while the other end reads until it has them all.
func measure(greetings: Int, bytesPerWrite: Int, noDelay: Bool) throws -> (time: Duration, segments: Int?, reads: Int) {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let reader = try dial("tcp", listener.address.description)
    let writer = try listener.accept()
    listener.close()
    defer { reader.close(); writer.close() }
    try writer.setNoDelay(noDelay)
    let start = ContinuousClock.now
    let sending = BackgroundThread("writer") {
        for _ in 0..<greetings { try? writeGreeting(to: writer, bytesPerWrite: bytesPerWrite) }
    }
    let total = greetings * greeting.count
    var received = 0, reads = 0
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while received < total, case let count = try reader.read(into: &buffer), count > 0 {
        received += count
        reads += 1
    }
    let time = ContinuousClock.now - start
    sending.join()
    return (time, writer.socket.dataSegmentsSent(), reads)
}
// ANCHOR_END: measure

// ANCHOR: demo-cost
func oneByteAtATime() throws {
    let greetings = 2000
    say("what one byte per write() costs: \(greetings) greetings down one connection, written three ways")
    say("(segments: TCP packets that carried data, as the sender's kernel counts them in TCP_INFO)")
    let ways = [
        (name: "one write() of 14 bytes each", bytesPerWrite: 14, noDelay: false),
        (name: "14 one-byte writes each, Nagle on", bytesPerWrite: 1, noDelay: false),
        (name: "14 one-byte writes each, TCP_NODELAY", bytesPerWrite: 1, noDelay: true),
    ]
    var times: [Duration] = []
    for way in ways {
        let writes = greetings * greeting.count / way.bytesPerWrite
        let (time, segments, reads) = try measure(
            greetings: greetings, bytesPerWrite: way.bytesPerWrite, noDelay: way.noDelay)
        times.append(time)
        let label = (way.name + ":").padding(toLength: 38, withPad: " ", startingAt: 0)
        say(
            "  \(label)\(writes) send() calls, \(segments.map(String.init) ?? "?") segments, \(reads) reads, \(shown(time))"
        )
    }
    let (nagle, noDelay) = (times[1] / times[0], times[2] / times[0])
    say(
        "=> one byte per write took \(Int(nagle.rounded()))x as long with Nagle on, \(Int(noDelay.rounded()))x with TCP_NODELAY (Go's default):"
    )
    say("   every byte is a system call, however the kernel then packs the bytes into segments")
}
// ANCHOR_END: demo-cost

// ANCHOR: demo-leak
/// The source says Go's garbage collector means no leaks. It frees memory, not what a
/// handler still holds: one that waits for a request with no deadline keeps its thread (in Go,
/// its goroutine) and its descriptor for as long as the client stays silent.
func silentClientsLeak() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let waiting = Atomic<Int>(0), serving = Atomic<Bool>(false)
    let server = BackgroundThread("server") {
        serving.store(true, ordering: .sequentiallyConsistent)
        while let connection = try? listener.accept() {
            _ = BackgroundThread("connection") {
                try? writeGreeting(to: connection, bytesPerWrite: greeting.count)
                waiting.add(1, ordering: .sequentiallyConsistent)
                _ = try? connection.read(maxLength: 1024)  // no deadline: waits as long as the client does
                waiting.subtract(1, ordering: .sequentiallyConsistent)
                connection.close()
            }
        }
    }
    say("a handler that waits for a request with no deadline, and clients that connect and say nothing:")
    settle { serving.load(ordering: .sequentiallyConsistent) }
    let before = (threads: threadCount(), descriptors: descriptorCount())
    func report(_ what: String) {
        say(
            "  \(what): +\(threadCount() - before.threads) threads, +\(descriptorCount() - before.descriptors) descriptors"
        )
    }
    var clients: [Connection] = []
    for total in [10, 20] {
        while clients.count < total { clients.append(try dial("tcp", listener.address.description)) }
        settle { waiting.load(ordering: .sequentiallyConsistent) == total }
        report("\(total) silent clients")
    }
    clients.forEach { $0.close() }
    clients = []
    settle { waiting.load(ordering: .sequentiallyConsistent) == 0 && threadCount() == before.threads }
    report("once they hang up")
    listener.close()
    server.join()
    say("=> garbage collection frees memory, not threads or descriptors: each silent client holds a")
    say("   thread and two descriptors (its own and the server's) until it goes; a read deadline bounds that")
}
// ANCHOR_END: demo-leak

/// Threads and open descriptors of this process, as Linux lists them in /proc.
func threadCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1 }
func descriptorCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }

/// Waits (at most 10 s) until `condition` holds, then a moment more for threads to finish starting or ending.
func settle(_ condition: () -> Bool) {
    let limit = ContinuousClock.now + .seconds(10)
    while !condition(), ContinuousClock.now < limit { Thread.sleep(forTimeInterval: 0.01) }
    Thread.sleep(forTimeInterval: 0.05)
}
