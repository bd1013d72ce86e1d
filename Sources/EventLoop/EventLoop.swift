// One thread serving many descriptors: it sleeps in the kernel's event queue (epoll) until
// some are ready, runs their handlers, runs the timers that are due, runs the jobs other
// threads sent it, and goes back to sleep. Nothing on this thread may block: one blocked
// handler would stall every connection. (SwiftNIO's SelectableEventLoop is this design.)
import Foundation
import Sockets
import Synchronization

public final class EventLoop: Sendable {
    /// Runs on the loop's thread when its descriptor is ready.
    public typealias Handler = (ReadyEvent) -> Void

    private let queue: EventQueue
    /// Who to call for each descriptor. Any thread may watch and unwatch (a task registers
    /// its socket as it accepts it); handlers always run on the loop's thread.
    private let handlers = Mutex<[Int32: Handler]>([:])
    /// What other threads hand the loop, and its timers. `sleeping` says whether the loop is
    /// (about to be) in `epoll_wait`, and until when: only then does new work need the eventfd.
    private struct Inbox {
        var jobs: [@Sendable () -> Void] = []
        var timers = Timers()
        var sleeping = false
        var sleepingUntil: Deadline?
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
            let (jobs, timeout, stopping) = inbox.withLock { inbox in
                defer { inbox.jobs.removeAll(keepingCapacity: true) }
                // With jobs to run, look at the descriptors without sleeping: a job may send more.
                let timeout = inbox.jobs.isEmpty ? inbox.timers.nextDeadline() : Deadline.after(.zero)
                inbox.sleeping = inbox.jobs.isEmpty && !inbox.stopping
                inbox.sleepingUntil = timeout
                return (inbox.jobs, timeout, inbox.stopping)
            }
            if stopping { return letGo() }
            for job in jobs { job() }
            var awake = false
            try queue.wait(timeout: timeout) { event in
                // Awake now: a job or timer a handler adds needs no eventfd (a task resumed here).
                if !awake {
                    awake = true
                    inbox.withLock { $0.sleeping = false }
                }
                handlers.withLock { $0[event.descriptor] }?(event)
            }
            let due = inbox.withLock { inbox in
                inbox.sleeping = false
                return inbox.timers.takeDue()
            }
            for job in due { job() }
        }
    }
    // ANCHOR_END: run

    /// Handlers and timers may refer back to this loop: let go of them, cycles and all.
    private func letGo() {
        handlers.withLock { $0.removeAll() }
        inbox.withLock { $0.timers = Timers() }
    }

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

    // MARK: Descriptors and timers (from any thread; handlers and jobs run on the loop's)

    /// Calls `handler` on the loop's thread whenever `descriptor` is ready for `interest`.
    /// The handler is in place before the kernel is asked, so no event can miss it.
    public func watch(
        _ descriptor: Int32, for interest: Interest, edgeTriggered: Bool = false, _ handler: @escaping Handler
    ) throws(SystemError) {
        let handler = LoopOnly(handler)
        handlers.withLock { $0[descriptor] = handler.value }
        do { try queue.add(descriptor, interest, edgeTriggered: edgeTriggered) } catch {
            handlers.withLock { $0[descriptor] = nil }
            throw error
        }
    }

    /// Changes what `descriptor` is watched for: a server adds `.writable` only while it has
    /// bytes the kernel would not take, or level-triggered epoll would wake it for nothing.
    public func change(_ descriptor: Int32, to interest: Interest) throws(SystemError) {
        try queue.modify(descriptor, interest)
    }

    /// Stops watching `descriptor`. Call it before closing the descriptor: the number is
    /// reused by the next `accept`, and must not inherit this handler.
    public func unwatch(_ descriptor: Int32) {
        handlers.withLock { $0[descriptor] = nil }
        queue.remove(descriptor)
    }

    /// Runs `job` on the loop's thread once `deadline` has passed. The loop is woken only if
    /// it sleeps past the new deadline.
    @discardableResult
    public func schedule(at deadline: Deadline, _ job: @escaping () -> Void) -> TimerID {
        let job = LoopOnly(job)
        let (timer, wake) = inbox.withLock { inbox in
            let timer = inbox.timers.add(at: deadline.instant, job.value)
            let wake = inbox.sleeping && (inbox.sleepingUntil.map { deadline < $0 } ?? true)
            if wake { inbox.sleeping = false }
            return (timer, wake)
        }
        if wake { queue.wake() }
        return timer
    }

    public func cancel(_ timer: TimerID) {
        inbox.withLock { $0.timers.cancel(timer) }
    }

    /// How many descriptors have handlers (the listener included).
    public var watchedCount: Int { handlers.withLock { $0.count } }
}

/// A handler or timer job, handed over from the thread that registers it to the loop's
/// thread, the only one that ever calls it. Whatever it captures must be touched on the
/// loop's thread only (lab 11's server keeps all its state there): that is the contract of
/// `watch` and `schedule`, which the compiler cannot check for us.
private struct LoopOnly<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
