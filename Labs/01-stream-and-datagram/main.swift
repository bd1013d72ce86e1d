// Lab 1: TCP is a stream of bytes; UDP is a sequence of datagrams.
// The demo writes the same messages both ways on loopback and shows what each read returns.
import LabKit
import Sockets

let lab = Lab(
    name: "stream-and-datagram",
    usage: """
        stream-and-datagram: TCP merges and splits writes; UDP keeps each datagram whole.

        usage:
          stream-and-datagram                            run the demo on loopback (what `make lab-1` does)
          stream-and-datagram --tcp-listen ADDR [--count N]
                                 accept connections on ADDR; read each to EOF, then print
                                 `FROM: N bytes in R reads, then EOF: "BYTES"` (the first 64 bytes)
          stream-and-datagram --udp-listen ADDR [--count N]
                                 receive datagrams on ADDR; print each as `FROM: N bytes: "BYTES"`
          stream-and-datagram --help                     this text
        Both roles print `listening on HOST:PORT` first, and serve until SIGINT/SIGTERM or N are done.
        """)

lab.run { arguments in
    let tcp = try arguments.address("--tcp-listen")
    let udp = try arguments.address("--udp-listen")
    let count = try arguments.count("--count")
    try arguments.finish()
    if tcp != nil && udp != nil { throw UsageError("give --tcp-listen or --udp-listen, not both") }
    if let tcp { return try readStreams(on: tcp, count: count) }
    if let udp { return try receiveDatagrams(on: udp, count: count) }
    if count != nil { throw UsageError("--count goes with --tcp-listen or --udp-listen") }
    try tcpMergesWrites()
    say("")
    try tcpSplitsWrites()
    say("")
    try udpKeepsDatagrams()
}

// ANCHOR: tcp-merge
/// Three writes, then one read: the receiver gets all the bytes at once, with no trace of
/// where one write ended and the next began.
func tcpMergesWrites() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    say("TCP: listening on \(listener.address)")
    let client = try dial("tcp", listener.address.description)
    let server = try listener.accept()
    // Send each write as its own segment at once (no Nagle batching): the merging we are
    // about to see happens at the receiver, not in the sender.
    try client.setNoDelay(true)
    for word in ["one", "two", "three"] {
        try client.write(word)
        say("client: write(\(quoted(Array(word.utf8)))) sent \(word.utf8.count) bytes")
    }
    client.close()  // EOF after the three words
    var reads = 0
    while case let bytes = try server.read(maxLength: 1024), !bytes.isEmpty {
        reads += 1
        say("server: read() returned \(bytes.count) bytes: \(quoted(bytes))")
    }
    say("server: read() returned 0 bytes: end of stream")
    say(
        "=> 3 writes arrived as \(reads) read\(reads == 1 ? "" : "s"): TCP keeps the bytes and their order, not the boundaries"
    )
    server.close()
    listener.close()
}
// ANCHOR_END: tcp-merge

// ANCHOR: tcp-split
/// One large write, read with a small buffer: it arrives in pieces.
func tcpSplitsWrites() throws {
    let listener = try Listener("tcp", "127.0.0.1:0")
    let client = try dial("tcp", listener.address.description)
    let server = try listener.accept()
    let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0) }  // 0, 1, …, 255, 0, 1, …
    // The writer runs on its own thread: 200 kB is more than the socket buffers hold,
    // so the write cannot finish until the reader below makes room.
    let writer = BackgroundThread("writer") {
        try? client.write(payload)
        client.close()
    }
    say("client: one write() of \(payload.count) bytes")
    var reads = 0, largest = 0
    var received: [UInt8] = []
    while case let bytes = try server.read(maxLength: 65_536), !bytes.isEmpty {
        reads += 1
        largest = max(largest, bytes.count)
        received += bytes
    }
    writer.join()
    say("server: \(reads) reads of at most 65536 bytes, \(received.count) bytes in all, the largest \(largest)")
    say("server: the bytes \(received == payload ? "are" : "are NOT") exactly the ones written, in the order written")
    say("=> 1 write arrived as \(reads) reads: the reader sees a stream, cut wherever it happened to read")
    server.close()
    listener.close()
}
// ANCHOR_END: tcp-split

// ANCHOR: udp
/// The same words as datagrams: each `recvfrom` returns exactly one `sendto`, whole.
func udpKeepsDatagrams() throws {
    let server = try PacketConn("udp", "127.0.0.1:0")
    let client = try PacketConn("udp", "127.0.0.1:0")
    say("UDP: bound to \(server.localAddress)")
    for word in ["one", "two", "three"] {
        try client.writeTo(Array(word.utf8), server.localAddress)
        say("client: sendto(\(quoted(Array(word.utf8)))) sent one datagram")
    }
    for _ in 0..<3 {
        // BEGIN SOLUTION: receive one datagram (readFrom, a 5 s deadline) and say its size, sender and bytes § UDP keeps each datagram whole
        let (bytes, sender) = try server.readFrom(maxLength: 1024, until: .after(.seconds(5)))
        say(
            "server: recvfrom() returned \(bytes.count) bytes from \(sender.map(\.description) ?? "?"): \(quoted(bytes))"
        )
        // END SOLUTION
    }
    say("=> 3 datagrams arrived as 3 reads: UDP keeps each message whole")

    // A datagram longer than the buffer is cut short, and the rest is gone for good.
    try client.writeTo(Array("0123456789".utf8), server.localAddress)
    try client.writeTo(Array("next".utf8), server.localAddress)
    say("client: sendto(\"0123456789\"), then sendto(\"next\")")
    let (cut, _) = try server.readFrom(maxLength: 4, until: .after(.seconds(5)))
    let (next, _) = try server.readFrom(maxLength: 1024, until: .after(.seconds(5)))
    say("server: recvfrom() with a 4-byte buffer returned \(quoted(cut)); the next recvfrom() returned \(quoted(next))")
    say("=> the 6 bytes that did not fit were discarded: size UDP buffers for the largest datagram")
    client.close()
    server.close()
}
// ANCHOR_END: udp

// ANCHOR: roles
/// `--tcp-listen ADDR`: each connection read to its end. However the peer wrote, the reads
/// return the same bytes in the same order; how many reads it took says nothing about the
/// writes, so only EOF says the message is whole.
func readStreams(on address: String, count: Int?) throws {
    let listener = try Listener("tcp", address)
    defer { listener.close() }
    say("listening on \(listener.address)")
    var served = 0
    while count.map({ served < $0 }) ?? true {
        let connection = try listener.accept()
        defer { connection.close() }
        let peer = connection.remoteAddress.map(\.description) ?? "?"
        let (first, total, reads) = try readToEOF(connection)
        say("\(peer): \(total) bytes in \(reads) reads, then EOF: \(quoted(first))")
        served += 1
    }
}

/// One connection read to its end: its first 64 bytes (all a line shows), how many bytes in
/// all, and how many reads it took. Only the count grows with what the peer sends.
func readToEOF(_ connection: Connection) throws -> (first: [UInt8], total: Int, reads: Int) {
    // BEGIN SOLUTION: read until read() returns 0 (EOF), counting every byte and every read § TCP is a stream of bytes
    var first: [UInt8] = [], total = 0, reads = 0
    while case let bytes = try connection.read(maxLength: 65_536), !bytes.isEmpty {
        reads += 1
        total += bytes.count
        first += bytes.prefix(64 - first.count)
    }
    return (first, total, reads)
    // END SOLUTION
}

/// `--udp-listen ADDR`: each datagram, whole. One recvfrom() returns one datagram, so the
/// buffer must hold the largest one a peer may send: 65535 bytes, UDP's limit.
func receiveDatagrams(on address: String, count: Int?) throws {
    let server = try PacketConn("udp", address)
    defer { server.close() }
    say("listening on \(server.localAddress)")
    var received = 0
    while count.map({ received < $0 }) ?? true {
        received += 1
        // BEGIN SOLUTION: receive one datagram of up to 65535 bytes (readFrom) and say who sent it, its size and bytes § UDP keeps each datagram whole
        let (bytes, sender) = try server.readFrom(maxLength: 65_535)
        say("\(sender.map(\.description) ?? "?"): \(bytes.count) bytes: \(quoted(Array(bytes.prefix(64))))")
        // END SOLUTION
    }
}
// ANCHOR_END: roles
