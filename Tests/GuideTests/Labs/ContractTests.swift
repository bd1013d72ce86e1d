// a usage error exits 2 with exactly one line on stderr, and nothing ever traps.
import Foundation
// The command-line contract, checked for every lab that exists: `--help` exits 0,
import Literate
import Testing

/// Every lab executable, from the `Labs/NN-name` folders.
let allLabs: [String] = {
    let folders =
        (try? FileManager.default.contentsOfDirectory(atPath: Paths.root.appendingPathComponent("Labs").path)) ?? []
    return folders.sorted().compactMap { folder in
        guard let dash = folder.firstIndex(of: "-"), folder.first?.isNumber == true else { return nil }
        return String(folder[folder.index(after: dash)...])
    }
}()

@Suite struct ContractTests {
    @Test(arguments: allLabs)
    func helpExitsZero(lab: String) async throws {
        let run = try await runLab(lab, ["--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("usage:"))
        #expect(run.stderr.isEmpty)
    }

    /// A lab takes SIGINT/SIGTERM with a handler, not by blocking them: a blocked signal
    /// would stay blocked in every program the lab starts, which could then not be stopped.
    @Test func aServerRoleLeavesTheTerminatingSignalsUnblocked() async throws {
        let lab = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let status = try String(contentsOfFile: "/proc/\(lab.process.processIdentifier)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") })
        let blocked = try #require(UInt64(line.split(separator: "\t").last ?? "", radix: 16))
        #expect(blocked & (1 << (SIGINT - 1)) == 0 && blocked & (1 << (SIGTERM - 1)) == 0, "\(line)")
        #expect(try await lab.stop().status == 0)
    }

    @Test(arguments: allLabs)
    func unknownFlagIsAUsageError(lab: String) async throws {
        let run = try await runLab(lab, ["--no-such-flag"])
        expectUsageError(run, mentioning: "--no-such-flag")
    }
}

/// Exit 2, one line on stderr that mentions `text`, no backtrace.
func expectUsageError(
    _ run: Literate.LabRun, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(run.status == 2, "status \(run.status), stderr: \(run.stderr)", sourceLocation: sourceLocation)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr should be one line: \(run.stderr)", sourceLocation: sourceLocation)
    #expect(run.stderr.contains(text), "stderr should mention \(text): \(run.stderr)", sourceLocation: sourceLocation)
}

/// Exit 1 and exactly `line` on stderr.
func expectNetworkError(_ run: Literate.LabRun, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(run.status == 1, "status \(run.status), stderr: \(run.stderr)", sourceLocation: sourceLocation)
    #expect(run.stderr == line + "\n", sourceLocation: sourceLocation)
}
