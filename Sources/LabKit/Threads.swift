// Blocking socket calls run on threads of their own, never on Swift concurrency's small
// pool (two blocked tasks on a two-core machine would stop every other task).
import Foundation

/// A thread running `body`, which another thread can wait for with `join()`. By the time
/// `join()` returns, `body` and everything it captured (a connection, say) are released.
public final class BackgroundThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    public init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let work = Work(body)
        let thread = Thread { [work, finished] in
            work.run()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    public func join() { finished.wait() }

    /// Holds the body until it has run, then lets go of it (the Thread object itself may
    /// keep its closure a little longer than the thread runs).
    private final class Work: @unchecked Sendable {  // touched by the new thread only
        private var body: (@Sendable () -> Void)?
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        func run() {
            body?()
            body = nil
        }
    }
}

/// Stops a server role on SIGINT or SIGTERM with exit status 0, as the contract asks.
/// The signals are blocked in every thread and taken by one thread with `sigwait`, so no
/// handler runs at an awkward moment inside a system call.
enum Signals {
    static func exitCleanlyOnTerminate() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, nil)  // before any other thread exists: they inherit it
        let waiting = set
        _ = BackgroundThread("signals") {
            var signals = waiting
            var received: Int32 = 0
            sigwait(&signals, &received)
            exitOnce(0)
        }
    }
}
