// Blocking socket calls run on threads of their own, never on Swift concurrency's small
// pool (two blocked tasks on a two-core machine would stop every other task).
import Foundation
import Sockets

/// A thread running `body`, which another thread can wait for with `join()`. By the time
/// `join()` returns, `body` and everything it captured (a connection, say) are released.
public final class BackgroundThread: Sendable {
    private let finished: DispatchSemaphore

    private init(finished: DispatchSemaphore) { self.finished = finished }

    /// Starts `body` on a thread of its own, or throws when the system will not start one
    /// (`EAGAIN`: a thread or process limit, such as RLIMIT_NPROC or a container's pids
    /// limit). A server refuses that connection (see `Serving.start`).
    /// `afterward` runs on the new thread once `body` has returned and been released.
    public static func start(
        _ name: String, afterward: (@Sendable () -> Void)? = nil, _ body: @escaping @Sendable () -> Void
    ) throws(SystemError) -> BackgroundThread {
        let finished = DispatchSemaphore(value: 0)
        let work = Work(body)
        try SystemThread.start {
            work.run()
            finished.signal()
            afterward?()
        }
        return BackgroundThread(finished: finished)
    }

    /// A thread that must run (a demo's server or client, the signal watcher): a failed
    /// start is logged and tried again, after 5 ms doubling up to 1 s.
    public convenience init(_ name: String, _ body: @escaping @Sendable () -> Void) {
        var pause = Duration.milliseconds(5)
        while true {
            do {
                self.init(finished: try BackgroundThread.start(name, body).finished)
                return
            } catch {
                warn("cannot start thread \(name): \(error); retrying in \(shown(pause))")
                Poll.sleep(pause)
                pause = min(pause * 2, .seconds(1))
            }
        }
    }

    public func join() { finished.wait() }

    /// Holds the body until it has run, then lets go of it, before `join()` can return.
    private final class Work: @unchecked Sendable {  // touched by the new thread only
        private var body: (@Sendable () -> Void)?
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        func run() {
            body?()
            body = nil
        }
    }
}
