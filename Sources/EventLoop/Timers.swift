// The loop's timers: a binary min-heap of deadlines, so that the next one to fire is always
// on top and `epoll_wait` can sleep exactly until it. Go keeps its timers per P the same way.
import Sockets

/// A scheduled timer, to cancel it.
public struct TimerID: Hashable, Sendable {
    let value: Int
}

struct Timers {
    private var heap: [(instant: ContinuousClock.Instant, id: Int)] = []
    private var jobs: [Int: () -> Void] = [:]
    private var lastID = 0

    mutating func add(at instant: ContinuousClock.Instant, _ job: @escaping () -> Void) -> TimerID {
        lastID += 1
        jobs[lastID] = job
        heap.append((instant, lastID))
        siftUp(heap.count - 1)
        return TimerID(value: lastID)
    }

    /// Forgets the job; its heap entry is dropped when it reaches the top.
    mutating func cancel(_ timer: TimerID) { jobs[timer.value] = nil }

    /// When the earliest live timer is due, or nil when there is none.
    mutating func nextDeadline() -> Deadline? {
        while let top = heap.first, jobs[top.id] == nil { popTop() }
        return heap.first.map { Deadline($0.instant) }
    }

    /// Removes and returns the jobs whose time has come, earliest first.
    mutating func takeDue(now: ContinuousClock.Instant = .now) -> [() -> Void] {
        var due: [() -> Void] = []
        while let top = heap.first, top.instant <= now {
            popTop()
            if let job = jobs.removeValue(forKey: top.id) { due.append(job) }
        }
        return due
    }

    private mutating func popTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].instant < heap[smallest].instant { smallest = left }
            if right < heap.count, heap[right].instant < heap[smallest].instant { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0, case let parent = (child - 1) / 2, heap[child].instant < heap[parent].instant {
            heap.swapAt(child, parent)
            child = parent
        }
    }
}
