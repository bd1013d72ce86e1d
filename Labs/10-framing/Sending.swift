// Sending on a nonblocking TCP socket. A blocking send sleeps until the kernel has taken
// every byte; a nonblocking one takes what fits in the send buffer and returns that count
// (a partial write), or fails with EAGAIN when nothing fits. Finishing the job is ours.
import Sockets

/// What it took to send everything.
struct SendReport {
    var sent = 0
    var calls = 0
    var partial = 0
    var wouldBlock = 0
    /// The first few send() results: a byte count, or nil for EAGAIN.
    var first: [Int?] = []
}

// ANCHOR: send-all
/// Sends every byte on a nonblocking socket: send what the kernel takes, and when it takes
/// nothing (EAGAIN: the send buffer is full, the reader is behind), sleep in poll until the
/// socket is writable (POLLOUT), then carry on from the first byte not yet sent.
func sendAll(_ bytes: [UInt8], on socket: Socket) throws(SystemError) -> SendReport {
    // BEGIN SOLUTION: loop until every byte is sent: send from the first unsent byte; a partial count moves on by that much; on wouldBlock wait(for: .writable) instead of spinning § Partial writes and EAGAIN
    var report = SendReport()
    while report.sent < bytes.count {
        let result = bytes.withUnsafeBytes { all in
            Result { () throws(SystemError) in try socket.send(UnsafeRawBufferPointer(rebasing: all[report.sent...])) }
        }
        switch try result.get() {
        case .done(let count):
            report.calls += 1
            if report.sent + count < bytes.count { report.partial += 1 }
            report.sent += count
            if report.first.count < 2 { report.first.append(count) }
        case .wouldBlock:
            report.calls += 1
            report.wouldBlock += 1
            if report.first.count < 2 { report.first.append(nil) }
            _ = try socket.wait(for: .writable, until: nil)
        }
    }
    return report
    // END SOLUTION
}
// ANCHOR_END: send-all
