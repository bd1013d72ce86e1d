// The kernel's readiness queue (epoll on Linux, kqueue on Darwin) behind a small type:
// watch many descriptors at once, sleep until some are ready, and be woken from another
// thread. An event loop (the EventLoop module, chapter 11) is built on exactly this.

/// What to be told about a descriptor.
public struct Interest: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let readable = Interest(rawValue: 1)
    public static let writable = Interest(rawValue: 2)
}

/// What the kernel reported for one descriptor.
public struct ReadyEvent: Sendable {
    public let descriptor: Int32
    public let readable: Bool
    public let writable: Bool
    /// The peer hung up or an error is pending. The next read or write says which.
    public let hangUpOrError: Bool
}

public final class EventQueue: @unchecked Sendable {  // wait() on one thread; wake() from any
    private let epoll: Int32
    private let wakeup: Int32
    private let events: Platform.EpollEvents

    public init(capacity: Int = 1024) throws(SystemError) {
        let epoll = try systemCall(blocking: "epoll_create1") { Platform.epollCreate() }
        let wakeup: Int32
        do {
            wakeup = try systemCall(blocking: "eventfd") { Platform.eventDescriptor() }
            try systemCall(blocking: "epoll_ctl") { Platform.epollControl(epoll, .add, wakeup, Platform.epollIn) }
        } catch {
            Platform.close(epoll)
            throw error
        }
        (self.epoll, self.wakeup) = (epoll, wakeup)
        events = Platform.EpollEvents(capacity: capacity)
    }

    deinit {
        Platform.close(wakeup)
        Platform.close(epoll)
    }

    // ANCHOR: watch
    /// Starts watching `descriptor`. Level-triggered (the default) reports it in every
    /// `wait` for as long as it stays ready; edge-triggered only when it becomes ready, so
    /// the owner must read or write until `EAGAIN` before waiting again.
    public func add(_ descriptor: Int32, _ interest: Interest, edgeTriggered: Bool = false) throws(SystemError) {
        try systemCall(blocking: "epoll_ctl") {
            Platform.epollControl(epoll, .add, descriptor, Self.mask(interest, edgeTriggered))
        }
    }
    // ANCHOR_END: watch

    public func modify(_ descriptor: Int32, _ interest: Interest, edgeTriggered: Bool = false) throws(SystemError) {
        try systemCall(blocking: "epoll_ctl") {
            Platform.epollControl(epoll, .modify, descriptor, Self.mask(interest, edgeTriggered))
        }
    }

    /// Stops watching. (Closing a descriptor also removes it, once no copy of it is left.)
    public func remove(_ descriptor: Int32) {
        _ = Platform.epollControl(epoll, .remove, descriptor, 0)
    }

    /// Sleeps until a watched descriptor is ready, `wake()` is called, or `timeout` passes
    /// (nil: no limit). Calls `body` for each ready descriptor; a wakeup is not reported.
    @available(*, noasync, message: "it blocks the calling thread: the event loop's own thread calls it")
    public func wait(timeout: Deadline?, _ body: (ReadyEvent) -> Void) throws(SystemError) {
        let count = try systemCall(blocking: "epoll_wait") {
            Platform.epollWait(epoll, events, timeout?.pollMilliseconds ?? -1)
        }
        for index in 0..<Int(count) {
            let fd = events.descriptor(index), bits = events.events(index)
            if fd == wakeup {
                Platform.drainEvent(wakeup)
                continue
            }
            body(
                ReadyEvent(
                    descriptor: fd, readable: bits & Platform.epollIn != 0, writable: bits & Platform.epollOut != 0,
                    hangUpOrError: bits & (Platform.epollHangUp | Platform.epollError | Platform.epollReadHangUp) != 0))
        }
    }

    /// Makes a `wait` in progress (or the next one) return at once. Safe from any thread.
    public func wake() { Platform.signalEvent(wakeup) }

    private static func mask(_ interest: Interest, _ edgeTriggered: Bool) -> UInt32 {
        var bits = Platform.epollReadHangUp
        if interest.contains(.readable) { bits |= Platform.epollIn }
        if interest.contains(.writable) { bits |= Platform.epollOut }
        if edgeTriggered { bits |= Platform.epollEdgeTriggered }
        return bits
    }
}

/// The most descriptors this process may open (`RLIMIT_NOFILE`). Ten thousand connections
/// need ten thousand descriptors; the usual soft limit is 1024.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard limit (no privilege needed). Returns the soft
    /// limit before and after, or nil if the limit could not be read.
    public static func raiseToHardLimit() -> (before: Int, after: Int)? { Platform.raiseDescriptorLimit() }
}
