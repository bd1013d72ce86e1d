// Go's netpoller, in Swift. Go registers every socket once with epoll, edge-triggered, and
// a goroutine whose read gets EAGAIN parks on the socket's `pollDesc` until the poller
// sees the edge and wakes it (runtime/netpoll.go, internal/poll/fd_unix.go). Here a task
// whose read gets EAGAIN suspends on a continuation, and the event loop resumes it.
import EventLoop
import Sockets
import Synchronization

/// Why a wait ended without the descriptor becoming ready.
enum WaitFailure: Error {
    case deadlineExceeded
    case closed
}

final class PollDescriptor: Sendable {
    enum Direction { case read, write }

    /// One direction's waiter. `ready` records an edge that came while no task waited
    /// (Go's pdReady): with edge-triggered epoll that edge will not be reported again.
    private struct Waiter {
        var continuation: CheckedContinuation<Void, Error>?
        var ready = false
        var generation = 0
    }
    private struct State {
        var read = Waiter()
        var write = Waiter()
        var closed = false
        subscript(direction: Direction) -> Waiter {
            get { direction == .read ? read : write }
            set { if direction == .read { read = newValue } else { write = newValue } }
        }
    }
    private let state = Mutex(State())
    let loop: EventLoop
    let socket: Socket
    let descriptor: Int32

    // ANCHOR: register
    /// Registers a nonblocking socket once, for both directions, edge-triggered, as Go does.
    /// The loop's thread will call the handler; this task's thread only registers it.
    init(_ socket: Socket, loop: EventLoop) {
        self.socket = socket
        self.loop = loop
        descriptor = socket.descriptor
        do {
            try loop.watch(descriptor, for: [.readable, .writable], edgeTriggered: true) { [self] event in
                let hungUp = event.hangUpOrError
                if event.readable || hungUp { wake(.read, with: .success(())) }
                if event.writable || hungUp { wake(.write, with: .success(())) }
            }
        } catch {
            close()  // out of kernel memory: every wait fails rather than hanging
        }
    }
    // ANCHOR_END: register

    // ANCHOR: wait
    /// Suspends the calling task until the socket is ready in `direction`, the deadline
    /// passes, the socket is closed, or the task is cancelled. Never blocks a thread.
    func wait(for direction: Direction, until deadline: Deadline?) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let (outcome, generation) = state.withLock { state -> (Result<Void, Error>?, Int) in
                    if state.closed { return (.failure(WaitFailure.closed), 0) }
                    if Task.isCancelled { return (.failure(CancellationError()), 0) }
                    if state[direction].ready {  // an edge came before we got here: go again
                        state[direction].ready = false
                        return (.success(()), 0)
                    }
                    state[direction].continuation = continuation
                    state[direction].generation += 1
                    return (nil, state[direction].generation)
                }
                if let outcome { return continuation.resume(with: outcome) }
                guard let deadline else { return }
                loop.schedule(at: deadline) { [self] in
                    wake(direction, with: .failure(WaitFailure.deadlineExceeded), ifStill: generation)
                }
            }
        } onCancel: {
            wake(direction, with: .failure(CancellationError()))
        }
    }
    // ANCHOR_END: wait

    /// Resumes the task waiting in `direction`, if any; with no task waiting, a readiness
    /// edge is remembered for the next wait. `generation` limits a timer to its own wait.
    private func wake(_ direction: Direction, with outcome: Result<Void, Error>, ifStill generation: Int? = nil) {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Error>? in
            if let generation, state[direction].generation != generation { return nil }
            guard let continuation = state[direction].continuation else {
                if case .success = outcome { state[direction].ready = true }
                return nil
            }
            state[direction].continuation = nil
            return continuation
        }
        waiting?.resume(with: outcome)
    }

    /// Fails every wait, now and later; stops watching the socket, then closes it (in that
    /// order, so the descriptor number cannot be reused while still watched).
    func close() {
        // Once only: a second unwatch, run after the number was reused, would unwatch the
        // next connection's socket, whose task would then wait for ever.
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Error>]? in
            guard !state.closed else { return nil }
            state.closed = true
            defer { (state.read.continuation, state.write.continuation) = (nil, nil) }
            return [state.read.continuation, state.write.continuation].compactMap { $0 }
        }
        guard let waiters else { return }
        for waiter in waiters { waiter.resume(throwing: WaitFailure.closed) }
        loop.unwatch(descriptor)
        socket.close()
    }
}
