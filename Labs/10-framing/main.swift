// Lab 10: a protocol on a byte stream. One read is not one message, so messages carry
// their own boundaries: a 4-byte big-endian length, then the payload (or a line ending in
// "\n"). The server answers each message with the same payload; the demo splits the same
// messages three ways, half-closes, sends a length over the limit, pushes 1 MiB through a
// nonblocking socket to a slow reader, and closes a connection abruptly and gracefully.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "framing",
    usage: """
        framing: length-prefixed messages on TCP (4 bytes, big-endian, then at most 1 MiB), partial writes, closing.

        usage:
          framing                               run the demo on loopback (what `make lab-10` does)
          framing --listen ADDR [--count N]     listen on ADDR (host:port, IPv6 as [::1]:port; port 0: the
                                                kernel picks), print `listening on HOST:PORT`, then answer every
                                                message with one holding the same payload, each connection on
                                                its own thread; a length over 1 MiB ends that connection only
                                                (one line on stderr); stop after N connections (or on Ctrl-C)
          framing --dial ADDR MESSAGE...        connect, send each MESSAGE as one message, print each reply's
                                                payload on a line of its own
          framing --help                        this text
        """)

lab.run { arguments in
    let listen = try arguments.address("--listen")
    let target = try arguments.address("--dial")
    let count = try arguments.count("--count")
    let messages = arguments.positionals()
    try arguments.finish()
    switch (listen, target) {
    case (let address?, nil):
        if let extra = messages.first { throw UsageError("unexpected argument \"\(extra)\"") }
        let listener = try Listener("tcp", address)
        say("listening on \(listener.address)")
        try serve(listener, connections: count, log: warn)
    case (nil, let address?):
        if count != nil { throw UsageError("--count goes with --listen") }
        if messages.isEmpty { throw UsageError("--dial needs at least one MESSAGE to send") }
        if messages.contains(where: { $0.utf8.count > maxPayload }) {
            throw UsageError("a MESSAGE holds at most \(maxPayload) bytes")
        }
        try exchange(with: address, messages.map { Array($0.utf8) })
    case (nil, nil):
        if count != nil { throw UsageError("--count goes with --listen") }
        if let extra = messages.first { throw UsageError("unexpected argument \"\(extra)\"") }
        try demo()
    case (_?, _?):
        throw UsageError("--listen and --dial do not go together")
    }
}

// ANCHOR: dial
/// The client role: each message out, its reply back and printed, in turn.
func exchange(with address: String, _ messages: [[UInt8]]) throws {
    let connection = try dial("tcp", address, timeout: .seconds(10))
    defer { connection.close() }  // every reply read: nothing unread, so no reset
    let reader = BufferedReader(connection)
    for message in messages {
        try writeMessage(message, to: connection)
        guard let reply = try readMessage(from: reader) else { throw connection.readFailure("EOF") }
        writeRaw(reply + [0x0A])
    }
}
// ANCHOR_END: dial
