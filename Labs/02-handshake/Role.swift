// Lab 2's role for a peer of somebody else's (`--dial ADDR [--abort]`): one connection,
// closed one of the two ways the chapter compares. What that did is for the peer and the
// kernel to say: the peer reads EOF or a reset, and the kernel's table keeps a TIME_WAIT
// for this end, or nothing.
import Foundation
import LabKit
import Sockets

// ANCHOR: role
/// `--dial ADDR [--abort]`: connect, say from where, and close first. Closed with a FIN, this
/// end goes through FIN_WAIT and keeps the TIME_WAIT (the kernel holds it after we exit);
/// with `--abort`, SO_LINGER 0 makes close() send a RST: the peer's read fails, and nothing
/// is kept.
func dialAndClose(_ address: String, abort: Bool) throws {
    let connection = try dial("tcp", address)
    say("connected from \(connection.localAddress?.description ?? "?") to \(address)")
    // BEGIN SOLUTION: close first: with --abort, set SO_LINGER to {on, 0 s} so close() sends RST; otherwise a plain close() (FIN) § Underneath: the close
    if abort {
        try connection.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
    }
    connection.close()
    // END SOLUTION
}
// ANCHOR_END: role
