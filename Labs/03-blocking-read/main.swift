// Lab 3: a blocking read. The client's read() sleeps in the kernel until bytes arrive,
// returns what is there (not what was "sent as one message"), and returns 0 at EOF.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "blocking-read",
    usage: """
        blocking-read: a client blocked in read() until bytes arrive; EOF ends the loop.

        usage:
          blocking-read               run the demo on loopback (what `make lab-3` does)
          blocking-read --dial ADDR   connect to ADDR (host:port), copy every byte to stdout until EOF
          blocking-read --help        this text
        """)

lab.run { arguments in
    let target = try arguments.address("--dial")
    try arguments.finish()
    if let target {
        try copyToStdout(from: target)
    } else {
        try demo()
    }
}

// ANCHOR: copy
/// `--dial ADDR`: every byte the server sends goes to stdout unchanged, until EOF.
func copyToStdout(from address: String) throws {
    let connection = try dial("tcp", address)
    defer { connection.close() }
    // BEGIN SOLUTION: read until read() returns 0 (EOF), copying each read's bytes to stdout with writeRaw § What a read returns
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = try connection.read(into: &buffer)  // sleeps until bytes or EOF arrive
        if count == 0 { return }  // EOF: the server closed. Not an error: the normal end.
        writeRaw(Array(buffer[..<count]))
    }
    // END SOLUTION
}
// ANCHOR_END: copy

// ANCHOR: hello-server
/// The source's hello server, as the demo's peer: it writes "Hello World!\r\n" one byte
/// per write, then closes (gracefully, chapter 10). Ours pauses before each word, so the
/// client has to wait.
func helloServer(_ listener: Listener, pause: Duration) {
    guard let connection = try? listener.accept() else { return }
    defer { connection.closeGracefully() }
    for word in ["Hello ", "World!\r\n"] {
        Thread.sleep(forTimeInterval: Double(pause.nanoseconds) / 1e9)
        for byte in word.utf8 {
            guard (try? connection.write([byte])) != nil else { return }  // the client hung up
        }
    }
}
// ANCHOR_END: hello-server

// ANCHOR: demo
func demo() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let pause = Duration.milliseconds(300)
    say(
        "peer: the source's hello server on \(listener.address): before each word it waits \(shown(pause)), then writes the word one byte per write()"
    )
    let peer = BackgroundThread("hello-server") { helloServer(listener, pause: pause) }

    let connection = try dial("tcp", listener.address.description)
    say("client: connected from \(connection.localAddress!) to \(connection.remoteAddress!)")
    var buffer = [UInt8](repeating: 0, count: 1024)
    var received: [UInt8] = []
    var reads = 0
    while true {
        let start = ContinuousClock.now
        let count = try connection.read(into: &buffer)  // blocks: the thread sleeps in the kernel
        let blocked = ContinuousClock.now - start
        reads += 1
        if count == 0 {
            say(
                "read #\(reads): blocked \(shown(blocked)), returned 0: EOF, the server closed; the loop ends, no error"
            )
            break
        }
        received += buffer[..<count]
        say(
            "read #\(reads): blocked \(shown(blocked)), returned \(count) byte\(count == 1 ? "" : "s"): \(quoted(Array(buffer[..<count])))"
        )
    }
    connection.close()
    peer.join()
    listener.close()
    say("client: \(received.count) bytes in \(reads - 1) read\(reads == 2 ? "" : "s"), then EOF: \(quoted(received))")
    say("=> read() slept until the first byte came; then it returned whatever had arrived, not one write each")
    say("")
    try requestFirst()
}
// ANCHOR_END: demo

// ANCHOR: request-first
/// The source's 3.2.1 and 4.2.3 clients read from a web server without sending a request.
/// An HTTP server speaks only when spoken to, so such a client waits as long as the server
/// does: forever, without a deadline. Here the wait is bounded, then the request goes out.
func requestFirst() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    say("peer: a tiny web server on \(listener.address): like any HTTP server, it answers only a request")
    let peer = BackgroundThread("web-server") { tinyWebServer(listener) }
    defer { peer.join() }
    let connection = try dial("tcp", listener.address.description)
    defer { connection.close() }
    let patience = Duration.milliseconds(500)
    connection.setReadDeadline(.after(patience))
    do {
        let bytes = try connection.read(maxLength: 1024)
        say("client, reading first as the source's clients do: \(quoted(bytes))?!")
    } catch {
        say("client, reading first as the source's clients do, with a \(shown(patience)) deadline: \(error)")
    }
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    connection.setReadDeadline(.after(.seconds(10)))
    try connection.write(request)
    let reply = try connection.readToEnd()
    let statusLine = reply.split(separator: UInt8(ascii: "\r"), maxSplits: 1).first.map(Array.init) ?? []
    say("client, after writing \(quoted(Array(request.utf8))):")
    say("   \(reply.count) bytes back, starting \(quoted(statusLine)), then EOF")
    say("=> a web server waits for a request: a client that only reads waits with it, forever without a deadline")
}

/// Reads until the end of the request's header (a blank line, at most 8 KiB), then
/// answers it and closes. A client that never writes never gets a byte.
func tinyWebServer(_ listener: Listener) {
    guard let connection = try? listener.accept() else { return }
    defer { connection.close() }
    connection.setReadDeadline(.after(.seconds(10)))
    var request: [UInt8] = []
    let endOfHeader = Array("\r\n\r\n".utf8)
    while request.count < 8192, request.firstRange(of: endOfHeader) == nil {
        guard let bytes = try? connection.read(maxLength: 1024), !bytes.isEmpty else { return }
        request += bytes
    }
    let body = "Hello World!\r\n"
    _ = try? connection.write(
        "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
}
// ANCHOR_END: request-first
