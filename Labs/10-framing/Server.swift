// The server role: a thread per connection, as in lab 6, so a client that never reads
// (its replies pile up until our write blocks) holds up its own thread only.
import Foundation
import LabKit
import Sockets

// ANCHOR: serve
/// Accepts in a loop, each connection on its own thread; with a limit, stops after that
/// many and returns once each has been answered to the end. `log` gets one line per trouble.
func serve(_ listener: Listener, connections limit: Int?, log: @escaping @Sendable (String) -> Void) throws {
    let inFlight = DispatchGroup()
    var accepted = 0
    while limit.map({ accepted < $0 }) ?? true {
        let connection = try listener.accept { error, retryIn in
            log(retryIn > .zero ? "\(error); retrying in \(shown(retryIn))" : "\(error)")
        }
        accepted += 1
        inFlight.enter()
        _ = BackgroundThread("connection") {
            answer(connection, log: log)
            inFlight.leave()
        }
    }
    inFlight.wait()
}
// ANCHOR_END: serve

// ANCHOR: answer
/// One connection: every message answered with one holding the same payload, until the
/// client closes. Any error (a length over the limit, a reset, EOF inside a message) ends
/// this connection only, with one line in the log.
func answer(_ connection: Connection, log: (String) -> Void) {
    // BEGIN SOLUTION: until readMessage returns nil, answer each message with writeMessage of the same payload; log an error in one line and end this connection only; close it gracefully on every path § One connection, many messages
    defer { connection.closeGracefully() }  // the client may have sent more: no reset
    let reader = BufferedReader(connection)
    do {
        while let payload = try readMessage(from: reader) {
            try writeMessage(payload, to: connection)
        }
    } catch {
        log("\(error)")
    }
    // END SOLUTION
}
// ANCHOR_END: answer
