// The grading cache does not grow for ever: what no run has used for an hour goes, the
// base in use and the folder of a run still going stay (GradingCache).
import Foundation
import Grading
import Testing

@Suite struct GradingCacheTests {
    @Test func staleEntriesArePrunedAndEntriesInUseKept() throws {
        let cache = try temporaryDirectory("guide-grading-cache")
        defer { try? FileManager.default.removeItem(at: cache) }
        let old = Date(timeIntervalSinceNow: -2 * GradingCache.unusedFor)
        let ownRun = "run-\(ProcessInfo.processInfo.processIdentifier)"
        let endedRun = "run-\(Int32.max)"  // no process ever has that number
        let entries = [
            ("base-stale", old), ("base-recent", Date()), ("base-current", old), ("making-abandoned", old),
            (ownRun, old), (endedRun, old), ("notes-not-ours", old),
        ]
        for (name, used) in entries {
            let entry = cache.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: entry.appendingPathComponent("build"), withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.modificationDate: used], ofItemAtPath: entry.path)
        }
        let removed = GradingCache.prune(cache, keeping: cache.appendingPathComponent("base-current"))
        #expect(removed == ["base-stale", "making-abandoned", endedRun])
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.path).sorted()
        #expect(left == ["base-current", "base-recent", "notes-not-ours", ownRun].sorted())

        // A run marks its base as used each time it copies it, so it is not pruned while in use.
        let recent = cache.appendingPathComponent("base-recent")
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: recent.path)
        GradingCache.touch(recent)
        #expect(GradingCache.prune(cache, keeping: cache.appendingPathComponent("base-current")).isEmpty)
    }
}
