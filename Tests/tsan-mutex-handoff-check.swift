// `make sanitize-thread` runs this under ThreadSanitizer with Tests/tsan-mutex-handoff.c
// preloaded, twice, before any suite: four threads that share one counter under one
// contended Mutex must raise no report, and the same threads touching it once outside the
// lock too (`racy`) must raise one. So the shim hides no real race, and this toolchain's
// Mutex is still the one it knows.
import Foundation
import Synchronization

final class Counter: @unchecked Sendable { var value = 0 }

let counter = Counter()
let lock = Mutex(0)
let racy = CommandLine.arguments.dropFirst().first == "racy"
let threads = 4
let rounds = 20_000

for _ in 0..<threads {
    Thread {
        for _ in 0..<rounds {
            lock.withLock { finished in
                counter.value += 1
                finished += 1
            }
            if racy { counter.value += 1 }
        }
    }.start()
}
while lock.withLock({ $0 }) < threads * rounds { usleep(1000) }
print("\(threads) threads, \(rounds) rounds each, counter \(lock.withLock { _ in counter.value })")
