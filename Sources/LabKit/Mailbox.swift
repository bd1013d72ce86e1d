// How a demo's server threads tell the narration what happened: each puts a line in the
// mailbox, and the demo takes the one it wants to print next, so the transcript comes
// out in the same order on every run, however the threads interleave.
import Foundation
import Synchronization

public final class Mailbox<Item: Sendable>: Sendable {
    private let items = Mutex<[Item]>([])
    private let arrived = DispatchSemaphore(value: 0)

    public init() {}

    public func put(_ item: Item) {
        items.withLock { $0.append(item) }
        arrived.signal()
    }

    /// Removes and returns the oldest item that `matches`, waiting up to `timeout` for
    /// one to arrive. nil: none came in time.
    public func take(timeout: Duration = .seconds(20), where matches: (Item) -> Bool = { _ in true }) -> Item? {
        let limit = DispatchTime.now() + .nanoseconds(Int(timeout.nanoseconds))
        while true {
            let found = items.withLock { items -> Item? in
                guard let index = items.firstIndex(where: matches) else { return nil }
                return items.remove(at: index)
            }
            if let found { return found }
            guard arrived.wait(timeout: limit) == .success else { return nil }
        }
    }
}
