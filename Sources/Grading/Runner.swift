// Running checks: each on a thread of its own with a hard time limit. A body that hangs
// (a lab blocked forever, a peer waiting on it) loses its check; its processes are
// killed, its thread is abandoned, and the run goes on with the next check.
import Foundation
import Synchronization

public enum Status: String, Codable, Sendable {
    case passed, failed, timeout
    /// The grader could not run the check (the lab was not built, it did not compile).
    case error
}

public struct CheckResult: Codable, Sendable {
    public let name: String
    public let status: Status
    public let points: Int
    public let possible: Int
    /// Empty when passed; otherwise the trace of the check, then what was wrong, then
    /// the chapter section to reread, one per line.
    public let message: String
    /// Seconds.
    public let duration: Double

    public init(name: String, status: Status, points: Int, possible: Int, message: String, duration: Double) {
        (self.name, self.status, self.points, self.possible, self.message, self.duration) = (
            name, status, points, possible, message, duration
        )
    }
}

public struct LabResult: Codable, Sendable {
    public let lab: Int
    public let name: String
    public let chapter: String
    public let points: Int
    public let possible: Int
    public let passed: Int
    public let checks: [CheckResult]

    public init(lab: Int, name: String, chapter: String, points: Int, possible: Int, passed: Int, checks: [CheckResult])
    {
        (self.lab, self.name, self.chapter, self.points, self.possible, self.passed, self.checks) = (
            lab, name, chapter, points, possible, passed, checks
        )
    }
}

public struct Grader: Sendable {
    /// Where the lab executables are.
    public let binaries: URL
    /// Run each lab process in a lab's sandbox that may read these folders (nil: unsandboxed).
    public let sandbox: [URL]?

    public init(binaries: URL, sandbox: [URL]? = nil) {
        self.binaries = binaries
        self.sandbox = sandbox
    }

    /// Runs every check of `lab`, calling `progress` after each one.
    public func grade(
        _ lab: LabGrading, executable: String? = nil,
        progress: (CheckResult) -> Void = { _ in }
    ) -> LabResult {
        let path = binaries.appendingPathComponent(executable ?? lab.executable)
        let shared = SharedRuns()  // this grading of this lab only
        let results = lab.checks.map { check in
            let result = run(check, executable: path, chapter: lab.chapter, shared: shared)
            progress(result)
            return result
        }
        return LabResult(
            lab: lab.number, name: lab.executable, chapter: lab.chapter,
            points: results.reduce(0) { $0 + $1.points }, possible: lab.possible,
            passed: results.count { $0.status == .passed }, checks: results)
    }

    /// Every check of `lab` recorded as `status` with one message, without running any
    /// (a lab that did not build, for example).
    public static func unrun(_ lab: LabGrading, status: Status, message: String) -> LabResult {
        let results = lab.checks.map {
            CheckResult(name: $0.name, status: status, points: 0, possible: $0.points, message: message, duration: 0)
        }
        return LabResult(
            lab: lab.number, name: lab.executable, chapter: lab.chapter, points: 0,
            possible: lab.possible, passed: 0, checks: results)
    }

    /// One check, on its own thread, with its hard limit.
    /// `shared`: the runs the checks of one grading of a lab share (`CheckContext.runOnce`).
    public func run(_ check: Check, executable: URL, chapter: String, shared: SharedRuns = SharedRuns()) -> CheckResult
    {
        let context = CheckContext(executable: executable, limit: check.limit, sandbox: sandbox, shared: shared)
        let outcome = Mutex<(Status, String)?>(nil)
        let done = DispatchSemaphore(value: 0)
        let start = ContinuousClock.now
        let thread = Thread {
            let result: (Status, String)
            do {
                try check.body(context)
                result = (.passed, "")
            } catch let failure as CheckFailure {
                result = (.failed, failure.description)
            } catch let error as CheckError {
                result = (.error, error.description)
            } catch {
                result = (.failed, "\(error)")  // a peer's socket error: the lab did something unexpected
            }
            outcome.withLock { $0 = $0 ?? result }
            done.signal()
        }
        thread.name = "check: \(check.name)"
        thread.start()
        let (whole, fraction) = check.limit.components
        if done.wait(timeout: .now() + Double(whole) + Double(fraction) / 1e18) == .timedOut {
            outcome.withLock {
                $0 =
                    $0 ?? (
                        .timeout,
                        "the check was still running after its limit of \(seconds(check.limit)): "
                            + "the lab (or its peer) was waiting for something that never came"
                    )
            }
        }
        let (status, reason) = outcome.withLock { $0! }
        let trace = context.trace(sealing: true)
        context.cleanUp()
        let duration = ContinuousClock.now - start
        var message = ""
        if status != .passed {
            message =
                (trace.map { "  " + $0 } + ["✗ " + reason, "reread: \(check.chapter ?? chapter) § \(check.section)"])
                .joined(separator: "\n")
        }
        let (s, atto) = duration.components
        return CheckResult(
            name: check.name, status: status, points: status == .passed ? check.points : 0,
            possible: check.points, message: message,
            duration: ((Double(s) + Double(atto) / 1e18) * 1000).rounded() / 1000)
    }
}
