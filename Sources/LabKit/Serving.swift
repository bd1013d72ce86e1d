// How a server role lives and stops (GUIDE-MAP's contract), in one place for every lab:
// a thread per connection; a connection refused, not leaked, when no thread can be had;
// and on SIGINT or SIGTERM: stop accepting, let the connections in progress finish
// (up to a grace period), then exit 0.
import Foundation
import Sockets
import Synchronization

/// The connections a server is serving, each on a thread of its own. While one exists,
/// a stop signal closes its listener (so `accept` fails and the loop ends) and waits for
/// its connections, up to `Serving.gracePeriod`, before the process exits 0.
public final class Serving: Sendable {
    /// How long a stop signal waits for connections in progress: long enough for a greeting
    /// or a TLS handshake on a busy machine, short enough for a service manager's patience
    /// (systemd waits 90 s before SIGKILL, Kubernetes 30 s).
    public static let gracePeriod = Duration.seconds(5)

    private let listener: Listener
    private let inFlight = DispatchGroup()
    private let pause = Mutex(Duration.zero)  // after a failed thread start: 5 ms doubling up to 1 s

    /// Serves connections accepted from `listener`; call `finish()` when the loop ends.
    public init(_ listener: Listener) {
        self.listener = listener
        Signals.register(self)
    }

    /// True once a stop signal has arrived: an `accept` failing now is the stop, not a fault.
    public var isStopping: Bool { Signals.isStopping }

    /// Runs `body` on a thread of its own. When no thread can be started (a thread or
    /// process limit), the connection is refused instead: `refuse` runs here (close it, so
    /// the client learns at once rather than hanging), one line is logged, and the accept
    /// loop pauses, 5 ms doubling up to 1 s, so that it does not spin while the limit lasts.
    public func start(_ name: String, orElse refuse: () -> Void, _ body: @escaping @Sendable () -> Void) {
        inFlight.enter()
        do {
            // Counted until the body and what it captured (the connection) are released.
            _ = try BackgroundThread.start(name, afterward: { [inFlight] in inFlight.leave() }, body)
            pause.withLock { $0 = .zero }
        } catch {
            inFlight.leave()
            refuse()
            let wait = pause.withLock { pause in
                pause = pause == .zero ? .milliseconds(5) : min(pause * 2, .seconds(1))
                return pause
            }
            warn("\(name): \(error): connection closed; accepting again in \(shown(wait))")
            Poll.sleep(wait)
        }
    }

    /// Waits for every connection started here to finish. Call it once the loop ends.
    public func finish() {
        Signals.unregister(self)
        inFlight.wait()
    }

    /// For the signal watcher: accept no more, then wait for what is in progress.
    fileprivate func stopAccepting() { listener.close() }  // wakes a blocked accept (see Socket.close)
    fileprivate func waitForConnections(until deadline: DispatchTime) { _ = inFlight.wait(timeout: deadline) }
}

/// Stops the process on SIGINT or SIGTERM with exit status 0, as the contract asks: at
/// once, unless a server is serving (then as `Serving` says). The handler only writes one
/// byte to a pipe (about all a signal handler may safely do); a thread reading the pipe
/// does the rest. Blocking the signals and taking them with `sigwait` would be neater, but
/// a blocked signal stays blocked in every program the lab starts (`openssl`, say), which
/// then ignores Ctrl-C; a handler is reset by `exec`. SIGPIPE gets a handler that does
/// nothing, for the same reason: a write to a closed stdout (`hello-server | head -1`)
/// then fails with EPIPE, which `say` and `warn` ignore, instead of killing a server.
enum Signals {
    private struct State {
        var stopping = false
        var servers: [ObjectIdentifier: Serving] = [:]
    }
    private static let state = Mutex(State())

    static var isStopping: Bool { state.withLock { $0.stopping } }

    static func register(_ server: Serving) { state.withLock { $0.servers[ObjectIdentifier(server)] = server } }
    static func unregister(_ server: Serving) {
        _ = state.withLock { $0.servers.removeValue(forKey: ObjectIdentifier(server)) }
    }

    static func install() {
        _ = Foundation.signal(SIGPIPE) { _ in }
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
            let servers = state.withLock { state in
                state.stopping = true
                return Array(state.servers.values)
            }
            let deadline = DispatchTime.now() + .nanoseconds(Int(Serving.gracePeriod.nanoseconds))
            for server in servers { server.stopAccepting() }
            for server in servers { server.waitForConnections(until: deadline) }
            exitOnce(0)
        }
    }

    /// For the main thread, once the lab's code has returned or thrown while a stop signal
    /// is being handled: the signal watcher owns the exit, so wait for it.
    static func waitForTheStop() -> Never {
        while true { Poll.sleep(.seconds(3600)) }
    }
}

/// The pipe's write end, for the signal handler: set once, before any handler is installed.
nonisolated(unsafe) private var signalPipe: Int32 = -1
