// A point in time after which an operation gives up, like the deadlines of Go's net.Conn.
// Timeouts become deadlines once, at the start, so retries and several addresses share
// the same remaining time instead of each starting the clock again.

public struct Deadline: Sendable, Comparable {
    public let instant: ContinuousClock.Instant

    public init(_ instant: ContinuousClock.Instant) { self.instant = instant }

    /// `duration` from now. A zero or negative duration is a deadline already past.
    public static func after(_ duration: Duration) -> Deadline {
        Deadline(.now + duration)
    }

    public var remaining: Duration { max(.zero, instant - .now) }
    public var hasPassed: Bool { ContinuousClock.now >= instant }

    /// The time left as `poll`'s timeout: whole milliseconds, rounded up so that we never
    /// wake before the deadline and spin, capped at what an Int32 holds.
    var pollMilliseconds: Int32 {
        let (seconds, attoseconds) = remaining.components
        // Past about 24 days: `Poll.wait` goes round again.
        guard seconds < Int64(Int32.max) / 1000 else { return Int32.max }
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    public static func < (a: Deadline, b: Deadline) -> Bool { a.instant < b.instant }
}
