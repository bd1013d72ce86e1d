// What a check's body works with: the lab's executable, a trace of every step (what was
// sent, what was expected, what came back), the time left, and clean-up for everything
// it started. When a check fails, its message is this trace, so a failure reads like a
// transcript of what the check did.
import Foundation
import LabKit
import Synchronization

public final class CheckContext: @unchecked Sendable {
    /// The lab's executable, in the bin directory being graded.
    public let executable: URL
    /// Waits inside the body end here, a little before the hard limit, so the body can
    /// still say what it was waiting for.
    public let deadline: ContinuousClock.Instant
    private let lock = NSLock()
    private var steps: [String] = []
    private var sealed = false
    private var cleanups: [() -> Void] = []

    /// When set, each lab process runs in a lab's sandbox that may read these folders.
    let sandbox: [URL]?
    /// The runs this lab's checks share (`runOnce`): one grading of one lab.
    let shared: SharedRuns

    init(executable: URL, limit: Duration, sandbox: [URL]? = nil, shared: SharedRuns = SharedRuns()) {
        self.executable = executable
        self.sandbox = sandbox
        self.shared = shared
        deadline = .now + limit - min(.seconds(1), limit / 4)
    }

    public var name: String { executable.lastPathComponent }

    /// Adds a line to the trace.
    public func note(_ line: String) {
        lock.withLock { if !sealed { steps.append(line) } }
    }

    /// The trace so far. Once sealed (the check timed out), a body still running on its
    /// abandoned thread can no longer add to it.
    func trace(sealing: Bool = false) -> [String] {
        lock.withLock {
            if sealing { sealed = true }
            return steps
        }
    }

    /// Runs `body` when the check ends, however it ends.
    public func onCleanup(_ body: @escaping () -> Void) {
        lock.withLock { cleanups.append(body) }
    }

    func cleanUp() {
        let all = lock.withLock {
            defer { cleanups = [] }; return cleanups
        }
        for body in all.reversed() { body() }
    }

    /// Time left before the body's deadline (never negative).
    public var remaining: Duration { max(.zero, deadline - .now) }

    // MARK: Running the lab

    /// Starts the lab with `arguments`; it is killed when the check ends.
    public func start(_ arguments: [String]) throws -> LabProcess {
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw CheckError("\(executable.path) does not exist: the lab was not built")
        }
        note("$ \(([name] + arguments).map(shellWord).joined(separator: " "))")
        let process = try LabProcess(
            executable, arguments, limit: deadline - .now + .milliseconds(500), sandbox: sandbox)
        onCleanup { process.kill() }
        return process
    }

    /// Runs the lab to its end (at most `within`, or the time left) and notes how it ended.
    public func run(_ arguments: [String], within: Duration? = nil) throws -> Finished {
        let process = try start(arguments)
        return finish(process, within: within)
    }

    /// Runs the lab with `arguments` once for all of this lab's checks (labs 1 and 2 read one
    /// run of their demo from several checks): the first check to ask runs it, the others read
    /// the same run. Shared within one grading of one lab, never across submissions or runs.
    public func runOnce(_ arguments: [String], within: Duration? = nil) throws -> Finished {
        note(
            "$ \(([name] + arguments).map(shellWord).joined(separator: " "))  (run once; this lab's checks read that run)"
        )
        let finished = try shared.run(executable, arguments) {
            let process = try LabProcess(
                executable, arguments, limit: deadline - .now + .milliseconds(500), sandbox: sandbox)
            onCleanup { process.kill() }
            return process.finish(until: within.map { min(.now + $0, deadline) } ?? deadline)
        }
        note("\(name): \(finished.summary)")
        return finished
    }

    /// Waits for a started lab to end (at most `within`, or the time left) and notes how.
    public func finish(_ process: LabProcess, within: Duration? = nil) -> Finished {
        let until = within.map { min(.now + $0, deadline) } ?? deadline
        let finished = process.finish(until: until)
        note("\(name): \(finished.summary)")
        return finished
    }

    /// The lab's first line, which a server role must make `listening on HOST:PORT`.
    public func listeningAddress(_ process: LabProcess) throws -> String {
        guard let line = process.line(0, until: min(.now + .seconds(5), deadline)) else {
            let finished = finish(process, within: .milliseconds(100))
            throw failure("expected `listening on HOST:PORT` as the first line; got nothing", finished)
        }
        note("\(name): \(line)")
        guard line.hasPrefix("listening on "), let port = line.split(separator: ":").last, Int(port) != nil,
            port != "0"
        else {
            throw CheckFailure("the first line must be `listening on HOST:PORT`, with the real port the kernel chose")
        }
        return String(line.dropFirst("listening on ".count))
    }

    // MARK: Failing well

    /// A failure for a run that ended wrongly, naming the common causes first: an exercise
    /// not done yet (the starter's stub), a lab killed because it never finished.
    public func failure(_ expected: String, _ finished: Finished) -> CheckFailure {
        if finished.status == Lab.Exit.exerciseNotDone {
            return CheckFailure(
                "the lab stopped at the stub of an exercise: "
                    + finished.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return CheckFailure(expected)
    }

    /// Checks that the lab exited with `status` on its own; otherwise fails with `why`.
    public func expectExit(_ finished: Finished, _ status: Int32, _ why: String) throws {
        if finished.killed {
            throw failure("\(why); it was still running after \(seconds(finished.duration)) and was killed", finished)
        }
        if finished.status != status {
            throw failure("\(why); it exited with status \(finished.status)", finished)
        }
    }
}

/// Runs of a lab that its checks share (`CheckContext.runOnce`), by executable and arguments.
public final class SharedRuns: Sendable {
    private let runs = Mutex<[[String]: Finished]>([:])

    public init() {}

    /// The run for `executable arguments`: the one made before, or `make`'s (kept for the next).
    /// Two checks never run it at once (checks run one after another), so no run is made twice.
    func run(_ executable: URL, _ arguments: [String], make: () throws -> Finished) rethrows -> Finished {
        let key = [executable.path] + arguments
        if let known = runs.withLock({ $0[key] }) { return known }
        let finished = try make()
        runs.withLock { $0[key] = $0[key] ?? finished }
        return finished
    }
}

/// The grader could not run the check at all (for example, the lab is not built). It
/// counts as a failure of the check, reported as an error.
public struct CheckError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A word as a shell would need it: quoted only when it has to be.
func shellWord(_ word: String) -> String {
    let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=[],@%+".contains($0) }
    return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
