// How the demo watches: ask the kernel for each end's state, print both side by side,
// and hold a FIN back behind unread bytes so the closing states last long enough to see.
import Foundation
import LabKit
import Sockets

// ANCHOR: row
/// One row of the demo: the client's state, the server's, what just happened. Each state
/// is the kernel's answer (`getsockopt(TCP_INFO)`) at the moment the row is printed;
/// "-" means that end has no socket left to ask. Later lines of `what` are indented.
func row(_ client: Socket?, _ server: Socket?, _ what: String) {
    let lines = what.split(separator: "\n")
    say(column(state(client)) + column(state(server)) + (lines.first ?? ""))
    for line in lines.dropFirst() { say(column("") + column("") + line) }
}

func state(_ socket: Socket?) -> String {
    // BEGIN SOLUTION: ask the kernel for this socket's TCP state (socket.tcpState(), which is getsockopt TCP_INFO) and return its name; "-" when there is no socket, or the kernel cannot say § Our Swift
    guard let socket, let state = try? socket.tcpState() else { return "-" }
    return state.description
    // END SOLUTION
}

func column(_ text: String) -> String { text.padding(toLength: 13, withPad: " ", startingAt: 0) }

/// Some changes wait for a segment to cross loopback (an ACK, a SYN sent again). Asks
/// until the kernel reports `expected`, for up to `limit`; the next row shows whatever
/// the kernel says then, arrived or not.
func settle(_ socket: Socket, to expected: TCPState, within limit: Duration = .seconds(5)) {
    let deadline = Deadline.after(limit)
    while (try? socket.tcpState()) != expected, !deadline.hasPassed { pause(.milliseconds(1)) }
}

/// One end's kernel count of its sequence numbers that the other end has acknowledged.
func bytesAcked(_ connection: Connection, of end: String = "client") -> String {
    guard let acked = try? connection.socket.bytesAcked() else { return "\(end)'s tcpi_bytes_acked: unknown" }
    return "\(end)'s tcpi_bytes_acked: \(acked)"
}
// ANCHOR_END: row

// ANCHOR: kernel-table
/// The kernel's own table (/proc/net/tcp) for one end of a connection: the place to look
/// once no socket can answer for it, as in TIME_WAIT. With `awaiting`, looks again for up
/// to 5 s until that state is there.
func kernelTable(_ end: String, _ connection: Connection, awaiting expected: TCPState? = nil) throws -> String {
    guard let local = connection.localAddress, let remote = connection.remoteAddress else { return "kernel table: ?" }
    let found = try tableEntries(from: local, to: remote, awaiting: expected).map { entry in
        entry.timer.map { "\(entry.state), \(Int(($0 / .seconds(1)).rounded()))s to go" } ?? "\(entry.state)"
    }
    return "kernel table, \(end) end: \(local) -> \(remote): "
        + (found.isEmpty ? "no entry" : found.joined(separator: ", "))
}

/// The kernel's entries for the end of a connection at `local` whose peer is `remote`. Some
/// states wait for a segment to cross loopback: with `expected`, asks again (every 1 ms, for
/// up to 5 s) until an entry in that state is there, then returns what the kernel says.
func tableEntries(from local: Address, to remote: Address, awaiting expected: TCPState?) throws -> [TCPTable.Entry] {
    // BEGIN SOLUTION: look this end up in the kernel's table, TCPTable.entries(from: local, to: remote); with `expected`, look again every 1 ms for up to 5 s until an entry in that state is there § Why TIME_WAIT, and what SO_REUSEADDR does about it
    let deadline = Deadline.after(.seconds(5))
    var entries = try TCPTable.entries(from: local, to: remote)
    while let expected, !entries.contains(where: { $0.state == expected }), !deadline.hasPassed {
        pause(.milliseconds(1))
        entries = try TCPTable.entries(from: local, to: remote)
    }
    return entries
    // END SOLUTION
}
// ANCHOR_END: kernel-table

// ANCHOR: hold
/// Writes until the kernel takes no more: more than `peer`'s receive buffer can hold, then
/// until nothing drains for 200 ms. The peer is not reading, so its buffer fills, then
/// ours: a FIN sent now waits behind these bytes until the peer reads them.
func writeUntilFull(_ connection: Connection, peer: Connection) throws -> Int {
    let chunk = [UInt8](repeating: 0x2E, count: 65_536)
    let giveUp = Deadline.after(.seconds(10))
    var total = 0
    do {
        let peerHolds = Int(try peer.socket.option(SOL_SOCKET, SO_RCVBUF, as: Int32.self, initial: 0))
        while true {
            let result = try chunk.withUnsafeBytes { try connection.socket.send($0, dontWait: true) }
            if case .done(let count) = result {
                total += count
            } else if try !connection.socket.wait(for: .writable, until: .after(.milliseconds(200))),
                total > peerHolds || giveUp.hasPassed
            {
                return total  // nothing drains, and some bytes cannot be anywhere but in our buffer
            }
        }
    } catch let error as SystemError {
        throw NetError(
            op: "write", network: "tcp", local: connection.localAddress,
            remote: connection.remoteAddress?.description, error)
    }
}

/// Reads until EOF, the peer's FIN, and returns how many bytes came before it.
func readToEOF(_ connection: Connection) throws -> Int {
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var total = 0
    while case let count = try connection.read(into: &buffer), count > 0 { total += count }
    return total
}
// ANCHOR_END: hold

func pause(_ duration: Duration) {
    Thread.sleep(forTimeInterval: Double(duration.nanoseconds) / 1e9)
}
