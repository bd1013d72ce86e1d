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
/// The handler only writes one byte to a pipe (about all a signal handler may safely do);
/// a thread reading the pipe does the exiting. Blocking the signals and taking them with
/// `sigwait` would be neater, but a blocked signal stays blocked in every program the lab
/// starts (`openssl`, say), which then ignores Ctrl-C; a handler is reset by `exec`.
enum Signals {
    static func exitCleanlyOnTerminate() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        // Whoever started us may have blocked these (a test runner's thread, say): unblock
        // them here, first, so that every thread and every program we start inherits that.
        var terminating = sigset_t()
        sigemptyset(&terminating)
        sigaddset(&terminating, SIGINT)
        sigaddset(&terminating, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &terminating, nil)
        signalPipe = ends[1]
        for signal in [SIGINT, SIGTERM] {
            _ = Foundation.signal(signal) { _ in
                var byte: UInt8 = 1
                _ = write(signalPipe, &byte, 1)
            }
        }
        let readEnd = ends[0]
        _ = BackgroundThread("signals") {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) < 0 && errno == EINTR {}
            exitOnce(0)
        }
    }
}

/// The pipe's write end, for the signal handler: set once, before any handler is installed.
nonisolated(unsafe) private var signalPipe: Int32 = -1
