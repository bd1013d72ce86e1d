// Several event loops, one thread each, one per core: nginx runs a worker per core, Go a P
// per core, SwiftNIO a MultiThreadedEventLoopGroup. One loop is one thread, and one thread
// runs on one core at a time; on two cores, a second loop doubles what the server can do
// at once. Each loop has its own epoll and its own connections: they share nothing, so no
// lock is taken between them, and a connection stays on the loop it was given.
import Foundation
import Sockets
import Synchronization

public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let turn = Atomic<Int>(0)

    /// One loop per core the process may run on, at most four: past the cores, more loops
    /// only take turns on the same cores, and each costs a thread.
    public static var defaultCount: Int { min(4, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    public init(count: Int = defaultCount) throws(SystemError) {
        var loops: [EventLoop] = []
        for _ in 0..<max(1, count) { loops.append(try EventLoop()) }
        self.loops = loops
    }

    /// A group of loops made elsewhere (one loop: every connection on it).
    public init(_ loops: [EventLoop]) {
        precondition(!loops.isEmpty, "a group needs a loop")
        self.loops = loops
    }

    /// The loops in turn (round robin), to spread connections evenly.
    public func next() -> EventLoop {
        loops[turn.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Runs every loop but the first on a thread of its own; the caller runs `loops[0]`.
    public func startAllButFirst(name: String = "event loop") {
        for (index, loop) in loops.enumerated().dropFirst() { loop.start(name: "\(name) \(index)") }
    }

    /// Runs every loop on a thread of its own.
    public func start(name: String = "event loop") {
        for (index, loop) in loops.enumerated() { loop.start(name: "\(name) \(index)") }
    }

    public func stop() { loops.forEach { $0.stop() } }
}
