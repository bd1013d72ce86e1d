// Waiting for a descriptor with poll(2): sleep in the kernel until it is ready or a
// deadline passes, instead of spinning on "would block".
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What to wait for on a descriptor.
public enum Readiness: Sendable {
    case readable
    case writable

    var events: Int16 { self == .readable ? Platform.pollIn : Platform.pollOut }
}

public enum Poll {
    // ANCHOR: poll
    /// Waits until at least one of `descriptors` is ready, or `deadline` passes (nil: forever).
    /// Returns how many are ready; 0 means the deadline passed. `revents` are filled in.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public static func wait(_ descriptors: inout [pollfd], until deadline: Deadline?) throws(SystemError) -> Int {
        let count = nfds_t(descriptors.count)
        while true {
            let ready = try descriptors.withUnsafeMutableBufferPointer { buffer throws(SystemError) in
                // On EINTR the helper calls this closure again, which recomputes the time left.
                Int(
                    try systemCall(blocking: "poll") {
                        poll(buffer.baseAddress, count, deadline?.pollMilliseconds ?? -1)
                    })
            }
            // poll's timeout tops out at about 24 days: a later deadline takes more than one.
            if ready > 0 || deadline?.hasPassed ?? true { return ready }
        }
    }
    // ANCHOR_END: poll

    /// Waits for one descriptor. Returns false when the deadline passed first. An error or
    /// hang-up on the descriptor counts as ready: the next call on it reports what happened.
    public static func wait(_ descriptor: Int32, for readiness: Readiness, until deadline: Deadline?)
        throws(SystemError) -> Bool
    {
        // poll(2) skips a negative descriptor: it would sleep to the deadline, or forever.
        guard descriptor >= 0 else { throw SystemError(call: "poll", code: EBADF) }
        var descriptors = [pollfd(fd: descriptor, events: readiness.events, revents: 0)]
        return try wait(&descriptors, until: deadline) > 0
    }

    /// Sleeps this thread for `duration`: `poll` on no descriptors at all.
    public static func sleep(_ duration: Duration) {
        var none: [pollfd] = []
        _ = try? wait(&none, until: .after(duration))
    }
}
