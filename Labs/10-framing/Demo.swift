// The demo: every claim of chapter 10, on loopback, against our own server.
import Foundation
import LabKit
import Sockets

func demo() throws {
    try oneReadIsNotOneMessage()
    let listener = try Listener("tcp", "127.0.0.1:0")
    let log = Mailbox<String>()
    _ = BackgroundThread("server") { try? serve(listener, connections: nil, log: { log.put($0) }) }
    say("")
    say("server: on \(listener.address), answering each message (4-byte big-endian length, payload) in kind")
    try threeSplits(listener.address.description)
    try halfClose(listener.address.description)
    try overTheLimit(listener.address.description, log)
    say("")
    try lines()
    say("")
    try slowReader()
    say("")
    try twoCloses()
}

/// A connected pair on loopback: what we dial, and what the listener accepted.
func pair() throws -> (client: Connection, server: Connection) {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    let client = try dial("tcp", listener.address.description)
    return (client, try listener.accept())
}

// ANCHOR: demo-stream
func oneReadIsNotOneMessage() throws {
    let (client, server) = try pair()
    defer { client.close(); server.close() }
    for word in ["alpha", "bravo", "charlie"] { try client.write(word) }
    let bytes = try server.read(maxLength: 1024)
    say("three writes, \"alpha\" \"bravo\" \"charlie\"; one read() got \(bytes.count) bytes: \(quoted(bytes))")
    say("=> the stream kept the bytes and their order, not where one write ended: a protocol must mark that itself")
}
// ANCHOR_END: demo-stream

// ANCHOR: demo-splits
/// The same three messages, their bytes cut three ways on the way out: the replies come
/// back the same every time, because `readMessage` reads by the lengths, not by the reads.
func threeSplits(_ address: String) throws {
    let messages = ["alpha", "bravo", "charlie"].map { Array($0.utf8) }
    let wire = messages.flatMap(frame)
    let ways: [(name: String, size: Int)] = [("one byte per send()", 1), ("all three in one send()", wire.count)]
    for way in ways {
        let connection = try dial("tcp", address)
        defer { connection.close() }
        try connection.setNoDelay(true)  // each send() its own segment: really one byte at a time
        let chunks = stride(from: 0, to: wire.count, by: way.size).map { wire[$0..<min($0 + way.size, wire.count)] }
        for chunk in chunks { try connection.write(Array(chunk)) }
        let reader = BufferedReader(connection)
        let replies = try messages.map { _ in try readMessage(from: reader) ?? [] }
        say(
            "\(way.name): \(wire.count) bytes in \(chunks.count) send() call\(chunks.count == 1 ? "" : "s"); replies \(replies.map(quoted).joined(separator: ", "))"
        )
    }
    let huge = (0..<maxPayload).map { UInt8(truncatingIfNeeded: $0 % 251) }
    let connection = try dial("tcp", address)
    defer { connection.close() }
    try writeMessage(huge, to: connection)
    let reader = BufferedReader(connection)
    let reply = try readMessage(from: reader)
    say(
        "one message of \(huge.count) bytes (the limit) in one send(): reply of \(reply?.count ?? 0) bytes, \(reply == huge ? "identical" : "DIFFERENT"), from \(reader.reads) read() calls"
    )
}
// ANCHOR_END: demo-splits

// ANCHOR: demo-half-close
/// A client that sends its last message and at once half-closes (FIN) still gets every reply:
/// the server reads EOF only after the messages, answers them, and then closes its side.
func halfClose(_ address: String) throws {
    let connection = try dial("tcp", address)
    defer { connection.close() }
    for text in ["last one", "really the last"] { try writeMessage(Array(text.utf8), to: connection) }
    try connection.closeWrite()
    let reader = BufferedReader(connection)
    var replies: [String] = []
    while let reply = try readMessage(from: reader) { replies.append(quoted(reply)) }
    say("two messages, then shutdown(SHUT_WR) before reading: replies \(replies.joined(separator: ", ")), then EOF")
}
// ANCHOR_END: demo-half-close

// ANCHOR: demo-limit
/// A length over the limit ends that connection, and only that one.
func overTheLimit(_ address: String, _ log: Mailbox<String>) throws {
    let bystander = try dial("tcp", address)
    defer { bystander.close() }
    let liar = try dial("tcp", address)
    defer { liar.close() }
    let length = UInt32(maxPayload + 1)
    try liar.write([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
    let ending = try liar.readToEnd().isEmpty ? "EOF" : "bytes"
    say("a header saying \(length) bytes, one over the limit: the client reads \(ending)")
    say("  server: \(log.take() ?? "(nothing logged)")")
    try writeMessage(Array("still here".utf8), to: bystander)
    let reply = try readMessage(from: BufferedReader(bystander)) ?? []
    say("another client, connected all along: reply \(quoted(reply))")
}
// ANCHOR_END: demo-limit

// ANCHOR: demo-lines
/// Line framing, as HTTP/1.1's head uses it: bytes up to "\n" (a "\r" before it dropped),
/// with a limit per line, so a peer that never sends "\n" cannot make us buffer forever.
func lines() throws {
    let (client, server) = try pair()
    defer { client.close(); server.close() }
    try client.setNoDelay(true)
    let request = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
    for byte in request { try client.write([byte]) }
    try client.write([UInt8](repeating: 0x78, count: 100))  // 100 bytes, and no end of line
    let reader = BufferedReader(server)
    var got: [String] = []
    for _ in 0..<3 { got.append(quoted(try reader.readLine(maxLength: 64) ?? [])) }
    say(
        "lines, sent one byte per send(): \(got.joined(separator: ", ")) (\(request.count) bytes, \(reader.reads) reads)"
    )
    do {
        _ = try reader.readLine(maxLength: 64)
        say("then 100 bytes with no end of line: read a line, which is wrong")
    } catch {
        say("then 100 bytes with no end of line: \(error)")
    }
}
// ANCHOR_END: demo-lines

// ANCHOR: demo-slow-reader
/// A nonblocking writer and a reader slower than it: 1 MiB does not fit in the socket
/// buffers (64 KiB each side here), so send() takes part, then says EAGAIN until the
/// reader has made room.
func slowReader() throws {
    let (writer, reader) = try pair()
    defer { writer.close(); reader.close() }
    try writer.socket.setOption(SOL_SOCKET, SO_SNDBUF, Int32(65_536))
    try reader.socket.setOption(SOL_SOCKET, SO_RCVBUF, Int32(65_536))
    try writer.socket.setNonblocking(true)
    let bytes = (0..<maxPayload).map { UInt8(truncatingIfNeeded: $0 % 251) }
    let received = Mailbox<(bytes: [UInt8], reads: Int)>()
    _ = BackgroundThread("slow reader") {
        Poll.sleep(.milliseconds(100))  // starts late,
        var all: [UInt8] = [], reads = 0
        while all.count < bytes.count, let chunk = try? reader.read(maxLength: 16_384), !chunk.isEmpty {
            all += chunk  // then takes 16 KiB at a time, with a rest in between
            reads += 1
            Poll.sleep(.milliseconds(1))
        }
        received.put((all, reads))
    }
    say("a nonblocking send of \(bytes.count) bytes to a reader that starts 100ms late, then reads 16 KiB at a time:")
    let report = try sendAll(bytes, on: writer.socket)
    if let first = report.first.first, let taken = first {
        say("  send() #1 took \(taken) of \(bytes.count) bytes: a partial write")
    }
    say("  then EAGAIN \(report.wouldBlock) times: no room; each time poll(POLLOUT) slept until the reader made some")
    say("  all \(report.sent) bytes sent in \(report.calls) send() calls, \(report.partial) of them partial writes")
    try writer.closeWrite()  // FIN after the last byte: the reader's EOF
    let got = received.take() ?? ([], 0)
    let whole =
        got.bytes == bytes ? "all \(bytes.count) bytes, in order" : "only \(got.bytes.count) of \(bytes.count) bytes"
    say("  the reader got \(whole), in \(got.reads) reads")
}
// ANCHOR_END: demo-slow-reader

// ANCHOR: demo-closes
/// The two closes side by side. The client sends a request; the server, without reading
/// it, answers with 1 MiB and closes. close() with the request unread makes Linux send
/// RST, and the reset throws away what had not reached the client yet; closeGracefully()
/// sends FIN, reads the request and waits for the client's FIN, and nothing is lost.
func twoCloses() throws {
    say("closing: a client sends a request; the server, never reading it, answers with 1 MiB and closes")
    for graceful in [false, true] {
        let listener = try Listener("tcp", "127.0.0.1:0")
        let client = try dial("tcp", listener.address.description)
        defer { client.close() }
        let server = try listener.accept()
        listener.close()
        try client.write("a request the server never reads\n")
        let closing = Mailbox<Bool>()
        _ = BackgroundThread("server") {
            _ = try? server.socket.wait(for: .readable, until: .after(.seconds(5)))  // the request is there
            try? server.write([UInt8](repeating: 0x61, count: maxPayload))
            closing.put(true)
            if graceful { server.closeGracefully() } else { server.close() }
        }
        _ = closing.take(timeout: .seconds(5))
        Poll.sleep(.milliseconds(100))  // the close has happened before the client reads
        var count = 0
        var ending = "EOF"
        do {
            while case let chunk = try client.read(maxLength: 65_536), !chunk.isEmpty { count += chunk.count }
        } catch {
            ending = "\(error)"
        }
        let name = graceful ? "closeGracefully():" : "close() at once:  "
        say("  \(name) the client read \(count) of \(maxPayload) bytes, then \(ending)")
    }
}
// ANCHOR_END: demo-closes
