// The grading cache, `$TMPDIR/swift-net-guide-grading/`: a build base per content of the
// course (`base-KEY`, made once, then copied for every submission), the half-made ones
// (`making-…`), and one working folder per instructor's run (`run-PID`). A checkout that
// changes gets a new base and leaves its old one behind, so the cache would grow for ever:
// each run marks the base it uses (again at every submission) and removes what no run has
// used for an hour. A base in use by another checkout's run, going on at the same time, is
// marked by that run as it goes, so it is never pulled from under it.
import Foundation

public enum GradingCache {
    /// How long an entry may go unused before a run removes it.
    public static let unusedFor: TimeInterval = 3600

    /// Marks `entry` as used now.
    public static func touch(_ entry: URL) {
        try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: entry.path)
    }

    /// Removes, from `cache`, every entry unused for `unusedFor` (the working folder of a run
    /// still going on excepted), but never `keeping`. What it removed, by name.
    @discardableResult
    public static func prune(_ cache: URL, keeping: URL, now: Date = Date()) -> [String] {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: cache.path)) ?? []
        var removed: [String] = []
        for name in names.sorted() where name != keeping.lastPathComponent {
            guard ["base-", "making-", "run-"].contains(where: name.hasPrefix) else { continue }
            let entry = cache.appendingPathComponent(name)
            guard let used = (try? manager.attributesOfItem(atPath: entry.path))?[.modificationDate] as? Date,
                now.timeIntervalSince(used) > unusedFor
            else { continue }
            if name.hasPrefix("run-"), let pid = Int(name.dropFirst("run-".count)),
                manager.fileExists(atPath: "/proc/\(pid)")
            {
                continue  // that run is still going (or its number went to another process: kept for now)
            }
            if (try? manager.removeItem(at: entry)) != nil { removed.append(name) }
        }
        return removed
    }
}
