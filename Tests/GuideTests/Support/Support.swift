// What every test shares: where the project and the built labs are, and a way to run
// blocking code without blocking Swift concurrency's small thread pool.
import Foundation
import Testing

enum Paths {
    /// The package's top directory, found from this file's own path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Where the lab executables are: `GUIDE_BIN_DIR`, or beside this test binary.
    static let binaries: URL = {
        if let dir = ProcessInfo.processInfo.environment["GUIDE_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return me.deletingLastPathComponent()
    }()

    static func lab(_ name: String) -> URL { binaries.appendingPathComponent(name) }
}

/// Runs `body` on a thread of its own and waits for it without holding a pool thread:
/// every blocking socket call in the tests goes through here.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Sleeps a real thread (for peers that must pause).
@available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
func pause(_ duration: Duration) {
    Thread.sleep(forTimeInterval: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
}

/// The async twin of `pause`: suspends the task, and never holds a thread of the pool.
func pause(_ duration: Duration) async {
    try? await Task.sleep(for: duration)
}

/// How many descriptors this process (or process `pid`, such as a lab's) has open.
func openDescriptorCount(of pid: Int32? = nil) -> Int {
    let directory = pid.map { "/proc/\($0)/fd" } ?? "/proc/self/fd"
    return (try? FileManager.default.contentsOfDirectory(atPath: directory).count) ?? -1
}

/// This process's descriptor count once it has stopped changing (the same over 100 ms):
/// Foundation closes a finished child process's pipes on a queue of its own, a moment later.
func settledDescriptorCount() async throws -> Int {
    try await onThread {
        var counts = [openDescriptorCount()]
        let limit = ContinuousClock.now + .seconds(5)
        while counts.count < 3 || Set(counts.suffix(3)).count > 1, ContinuousClock.now < limit {
            pause(.milliseconds(50))
            counts.append(openDescriptorCount())
        }
        return counts.last!
    }
}

/// Checks `condition` every 20 ms until it holds (true) or `timeout` passes (false):
/// for things that settle a moment later, such as a server's threads closing descriptors.
func eventually(within timeout: Duration = .seconds(5), _ condition: @escaping @Sendable () -> Bool) async throws
    -> Bool
{
    try await onThread {
        let limit = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= limit { return false }
            pause(.milliseconds(20))
        }
        return true
    }
}

/// `make sanitize` sets SANITIZED=1: everything runs several times slower under a
/// sanitizer, and ASan holds freed memory in quarantine, so memory growth means nothing.
let sanitized = ProcessInfo.processInfo.environment["SANITIZED"] != nil

/// A time bound for a test: as given, or five times as long under a sanitizer.
func generous(_ bound: Duration) -> Duration { sanitized ? bound * 5 : bound }

/// How long a lab's demo may run before a transcript check gives up on it (lab 2's takes
/// half a minute of waiting for the kernel, and more under a sanitizer).
let labTimeout = TimeInterval(generous(.seconds(60)).components.seconds)
