// The states of a TCP connection (RFC 9293, section 3.3.2), as the kernel reports them.
// `Socket.tcpState()` asks about one socket. `TCPTable` (Linux: TCPTable+Linux.swift)
// lists what the kernel still tracks, including connections no socket refers to any
// more: a TIME_WAIT connection outlives the socket that made it.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a TCP connection is in its life. Prints with the kernel's names (Linux's
/// `TCP_FIN_WAIT1` as `FIN_WAIT_1`); a socket with no connection is `CLOSE`.
public enum TCPState: Sendable, Hashable, CustomStringConvertible {
    /// A listening socket, waiting for SYNs.
    case listen
    /// We sent a SYN and wait for the SYN-ACK.
    case synSent
    /// We answered a SYN with a SYN-ACK and wait for the ACK.
    case synReceived
    /// The handshake is done: data flows both ways.
    case established
    /// We sent our FIN; the peer has not acknowledged it yet.
    case finWait1
    /// Our FIN is acknowledged; we wait for the peer's FIN.
    case finWait2
    /// The peer sent its FIN; our application has not closed its side yet.
    case closeWait
    /// Both sides sent a FIN at the same time; ours is not acknowledged yet.
    case closing
    /// We sent our FIN after the peer's; we wait for its ACK.
    case lastAck
    /// We closed first and both FINs are acknowledged: we wait 2·MSL for stray segments.
    case timeWait
    /// No connection: never connected, or over.
    case close
    /// A state number this module does not know (from a newer kernel).
    case unknown(Int)

    public var description: String {
        switch self {
        case .listen: "LISTEN"
        case .synSent: "SYN_SENT"
        case .synReceived: "SYN_RECV"
        case .established: "ESTABLISHED"
        case .finWait1: "FIN_WAIT_1"
        case .finWait2: "FIN_WAIT_2"
        case .closeWait: "CLOSE_WAIT"
        case .closing: "CLOSING"
        case .lastAck: "LAST_ACK"
        case .timeWait: "TIME_WAIT"
        case .close: "CLOSE"
        case .unknown(let number): "STATE_\(number)"
        }
    }
}

/// What `getsockopt(TCP_INFO)` tells us about one socket.
struct TCPInfo {
    var state = TCPState.close
    /// On a listening socket: connections that finished their handshake and wait for `accept`.
    var queued = 0
    /// On a listening socket: the backlog given to `listen`.
    var backlog = 0
    /// How much of our sequence space the peer has acknowledged (nil: kernel too old to say).
    var bytesAcked: UInt64?
}

extension Socket {
    /// The kernel's state for this TCP socket right now (`getsockopt(TCP_INFO)`).
    public func tcpState() throws(SystemError) -> TCPState {
        try tcpInfo().state
    }

    /// A listening socket's accept queue: how many connections the kernel has completed
    /// that nobody has `accept`ed yet, and the backlog `listen` was given.
    public func acceptQueue() throws(SystemError) -> (waiting: Int, backlog: Int) {
        let info = try tcpInfo()
        return (info.queued, info.backlog)
    }

    /// How many of our sequence numbers the peer has acknowledged so far (RFC 4898's
    /// `tcpEStatsAppHCThruOctetsAcked`, Linux's `tcpi_bytes_acked`): every byte of data,
    /// and one each for our SYN and our FIN, which take a sequence number apiece. (A socket
    /// from `accept` counts from the end of the handshake: its SYN is not in the count.) nil
    /// when the kernel is too old to count (before Linux 4.1).
    public func bytesAcked() throws(SystemError) -> UInt64? {
        try tcpInfo().bytesAcked
    }

    private func tcpInfo() throws(SystemError) -> TCPInfo {
        try using("getsockopt") { fd throws(SystemError) in
            var info = TCPInfo()
            try systemCall(blocking: "getsockopt") { Platform.tcpInfo(fd, &info) }
            return info
        }
    }
}
