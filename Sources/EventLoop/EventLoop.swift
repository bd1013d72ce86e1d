// One thread serving many descriptors: it sleeps in the kernel's event queue (epoll) until
// some are ready, runs their handlers, runs the timers that are due, runs the jobs other
// threads sent it, and goes back to sleep. Nothing on this thread may block: one blocked
// handler would stall every connection. (SwiftNIO's SelectableEventLoop is this design.)
import Foundation
import Sockets
import Synchronization

public final class EventLoop: @unchecked Sendable {  // handlers and timers: loop thread only
    public typealias Handler = (ReadyEvent) -> Void

    private let queue: EventQueue
    // The loop thread's own state: touched only inside `run()`, by handlers, timers and jobs.
    private var handlers: [Int32: Handler] = [:]
    private var timers = Timers()
    /// What other threads hand the loop. `sleeping` says whether the loop is (about to be)
    /// in `epoll_wait`: only then does `execute` need to write to the eventfd to wake it.
    private struct Inbox {
        var jobs: [@Sendable () -> Void] = []
        var sleeping = false
        var stopping = false
    }
    private let inbox = Mutex(Inbox())
    private let runner = Mutex<Thread?>(nil)

    public init() throws(SystemError) {
        queue = try EventQueue()
    }

    /// True on the loop's own thread, while `run()` runs.
    public var inLoop: Bool { runner.withLock { $0 } === Thread.current }

    // ANCHOR: run
    /// Runs the loop on the calling thread until `stop()`.
    @available(*, noasync, message: "it blocks the calling thread: start() gives the loop a thread of its own")
    public func run() throws(SystemError) {
        runner.withLock { $0 = Thread.current }
        defer { runner.withLock { $0 = nil } }
        while true {
            let (jobs, stopping) = inbox.withLock { inbox in
                defer { inbox.jobs.removeAll(keepingCapacity: true) }
                inbox.sleeping = inbox.jobs.isEmpty && !inbox.stopping
                return (inbox.jobs, inbox.stopping)
            }
            if stopping {
                // Handlers and timers may refer back to this loop: let go of them, cycles and all.
                handlers.removeAll()
                timers = Timers()
                return
            }
            for job in jobs { job() }
            // With jobs just run, look at the descriptors without sleeping: a job may have sent more.
            let timeout = jobs.isEmpty ? timers.nextDeadline() : Deadline.after(.zero)
            try queue.wait(timeout: timeout) { event in handlers[event.descriptor]?(event) }
            inbox.withLock { $0.sleeping = false }
            for job in timers.takeDue() { job() }
        }
    }
    // ANCHOR_END: run

    /// Runs the loop on a thread of its own; returns at once.
    public func start(name: String = "event loop") {
        let thread = Thread { [self] in
            do { try run() } catch { fatalError("event loop: \(error)") }  // epoll_wait fails only on a bug
        }
        thread.name = name
        thread.start()
    }

    // ANCHOR: execute
    /// Runs `job` on the loop's thread, soon. Safe from any thread: the job is queued, and
    /// the eventfd is written only if the loop is asleep in `epoll_wait`.
    public func execute(_ job: @escaping @Sendable () -> Void) {
        let wake = inbox.withLock { inbox in
            inbox.jobs.append(job)
            defer { inbox.sleeping = false }
            return inbox.sleeping
        }
        if wake { queue.wake() }
    }
    // ANCHOR_END: execute

    /// Ends `run()` after the handlers and jobs under way. Safe from any thread.
    public func stop() {
        inbox.withLock { $0.stopping = true }
        queue.wake()
    }

    // MARK: On the loop's thread only

    /// Calls `handler` on this thread whenever `descriptor` is ready for `interest`.
    public func watch(
        _ descriptor: Int32, for interest: Interest, edgeTriggered: Bool = false, _ handler: @escaping Handler
    ) throws(SystemError) {
        precondition(inLoop, "watch() is for the loop's own thread: use execute { }")
        handlers[descriptor] = handler
        do { try queue.add(descriptor, interest, edgeTriggered: edgeTriggered) } catch {
            handlers[descriptor] = nil
            throw error
        }
    }

    /// Changes what `descriptor` is watched for: a server adds `.writable` only while it has
    /// bytes the kernel would not take, or level-triggered epoll would wake it for nothing.
    public func change(_ descriptor: Int32, to interest: Interest) throws(SystemError) {
        precondition(inLoop, "change() is for the loop's own thread: use execute { }")
        try queue.modify(descriptor, interest)
    }

    /// Stops watching `descriptor`. Call it before closing the descriptor: the number is
    /// reused by the next `accept`, and must not inherit this handler.
    public func unwatch(_ descriptor: Int32) {
        precondition(inLoop, "unwatch() is for the loop's own thread: use execute { }")
        handlers[descriptor] = nil
        queue.remove(descriptor)
    }

    /// Runs `job` on this thread once `deadline` has passed.
    @discardableResult
    public func schedule(at deadline: Deadline, _ job: @escaping () -> Void) -> TimerID {
        precondition(inLoop, "schedule() is for the loop's own thread: use execute { }")
        return timers.add(at: deadline.instant, job)
    }

    public func cancel(_ timer: TimerID) {
        precondition(inLoop, "cancel() is for the loop's own thread: use execute { }")
        timers.cancel(timer)
    }

    /// How many descriptors have handlers (the listener included).
    public var watchedCount: Int { handlers.count }
}
