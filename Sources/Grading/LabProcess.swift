// A lab executable run as a process, the way a reader (or an outside program) runs it,
// with a kill timer: whatever the lab does, it is gone when its time is up. Foundation's
// Process starts each child in a process group of its own, so the kill takes any
// children the lab started with it. A lab run in its sandbox (`Sandbox.labCommand`) is the
// grandchild of the `bwrap` we start; signals and /proc readings go to the lab itself.
import Foundation
import LabKit

/// How a finished (or killed) run ended, and everything it printed.
public struct Finished: Sendable {
    /// The exit status; 128 + N when signal N ended it.
    public let status: Int32
    /// True when the kill timer ended it: it was still running when its time was up.
    public let killed: Bool
    public let stdout: [UInt8]
    public let stderr: String
    public let duration: Duration

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stdoutLines: [String] {
        var lines = stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// `exit 1 after 12ms; stderr "…"`: one line for a trace.
    public var summary: String {
        var text =
            killed ? "still running after \(seconds(duration)): killed" : "exit \(status) after \(seconds(duration))"
        if !stderr.isEmpty { text += "; stderr \(excerpt(Array(stderr.utf8)))" }
        return text
    }
}

public final class LabProcess: @unchecked Sendable {
    public let name: String
    private let process = Process()
    private let started = ContinuousClock.now
    private let lock = NSCondition()
    private var output: [UInt8] = []
    private var errors: [UInt8] = []
    private var openStreams = 2
    /// Whether stdout is still open: a line may still come only then.
    private var outputOpen = true
    private var exited = false
    private var killedByTimer = false
    /// The write end of stdin, when `input` was given: held open until the process ends.
    private let stdin: Pipe?
    private static let keep = 16 << 20
    /// Started through bwrap: the lab is bwrap's grandchild (bwrap, its PID 1, the lab).
    private let sandboxed: Bool
    private var labPID: Int32?

    /// Starts `executable` with `arguments`; after `limit` it is killed (SIGKILL, its
    /// whole process group) if it is still running. Its stdin is empty (EOF at once), or,
    /// with `input`, those bytes on a pipe that stays open (a peer such as `openssl
    /// s_server` hangs up when its stdin ends).
    /// With `sandbox` (the folders the lab may read besides its executable), it runs in a
    /// lab's sandbox (`Sandbox.labCommand`).
    public init(
        _ executable: URL, _ arguments: [String], limit: Duration, input: [UInt8]? = nil, sandbox: [URL]? = nil
    ) throws {
        name = executable.lastPathComponent
        sandboxed = sandbox != nil
        if let sandbox {
            Sandbox.openToLabs(sandbox)
            let words = Sandbox.labCommand(executable, arguments, shared: sandbox)
            process.executableURL = URL(fileURLWithPath: words[0])
            process.arguments = Array(words.dropFirst())
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        stdin = input.map { _ in Pipe() }
        process.standardInput = stdin ?? FileHandle.nullDevice
        if let stdin, let input, !input.isEmpty {
            // Written before the process starts, while we hold the read end too: no write
            // can meet a reader that is gone (SIGPIPE). A pipe holds 64 kB: small inputs only.
            try stdin.fileHandleForWriting.write(contentsOf: input.prefix(32_768))
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        // Weak: the process holds its handler, so a strong `self` here would be a cycle
        // (LabProcess → Process → handler → LabProcess) and every run's output would leak.
        process.terminationHandler = { [weak self, lock] _ in
            lock.withLock {
                self?.exited = true; lock.broadcast()
            }
        }
        try process.run()
        // Each stream read on its own thread, so a full pipe never stalls the lab.
        for (pipe, isOutput) in [(out, true), (err, false)] {
            Thread { [self] in
                let handle = pipe.fileHandleForReading
                while case let chunk = handle.availableData, !chunk.isEmpty {
                    lock.withLock {
                        // Keep the first 16 MiB: enough for any check, and a lab printing in
                        // a loop until it is killed cannot fill the grader's memory.
                        if isOutput {
                            if output.count < LabProcess.keep { output += chunk }
                        } else if errors.count < LabProcess.keep {
                            errors += chunk
                        }
                        lock.broadcast()
                    }
                }
                lock.withLock {
                    openStreams -= 1
                    if isOutput { outputOpen = false }
                    lock.broadcast()
                }
            }.start()
        }
        let timer = Thread { [self] in
            if !waitUntil(.now + limit, { $0.exited }) {
                lock.withLock { killedByTimer = true }
                kill()
            }
        }
        timer.start()
    }

    /// The lab's own process ID (in a sandbox: bwrap's grandchild, waited for a moment). nil
    /// when it has gone.
    public var processIdentifier: Int32? {
        guard sandboxed else { return process.processIdentifier }
        if let known = lock.withLock({ labPID }) { return known }
        let until = ContinuousClock.now + .seconds(2)
        while isRunning && .now < until {
            if let init1 = Self.children(of: process.processIdentifier).first,
                let lab = Self.children(of: init1).first
            {
                lock.withLock { labPID = lab }
                return lab
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        return nil
    }

    /// The processes whose parent is `parent`, from each `/proc/PID/stat` (field 4).
    private static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }.sorted()
    }
    public var isRunning: Bool { lock.withLock { !exited } }

    /// What it has printed so far, as complete lines.
    public var lines: [String] {
        lock.withLock { Self.completeLines(output) }
    }

    /// Output line `index` (0-based), waiting for it until `deadline`. nil: the lab ended
    /// (or the time ran out) before printing it.
    public func line(_ index: Int, until deadline: ContinuousClock.Instant) -> String? {
        // Until stdout ends, not merely stderr: a lab that prints, then fails at once, may close
        // stderr first, and its last lines must not be lost to that race.
        _ = waitUntil(deadline) { !$0.outputOpen || Self.completeLines($0.output).count > index }
        let lines = self.lines
        return index < lines.count ? lines[index] : nil
    }

    /// Waits for the lab to exit on its own until `deadline`, then kills it if it has not.
    public func finish(until deadline: ContinuousClock.Instant) -> Finished {
        let ended = waitUntil(deadline) { $0.exited && $0.openStreams == 0 }
        if !ended {
            lock.withLock { killedByTimer = killedByTimer || !exited }
            // The whole group: the lab, and any child of it still holding our pipes.
            Foundation.kill(-process.processIdentifier, SIGKILL)
        }
        _ = waitUntil(.now + .seconds(5)) { $0.exited && $0.openStreams == 0 }
        return lock.withLock {
            let status =
                !exited
                ? -1
                : process.terminationReason == .uncaughtSignal
                    ? 128 + process.terminationStatus : process.terminationStatus
            return Finished(
                status: status, killed: killedByTimer, stdout: output,
                stderr: String(decoding: errors, as: UTF8.self), duration: .now - started)
        }
    }

    /// SIGTERM, to the lab alone: what a reader's Ctrl-C or a service manager sends.
    public func terminate() {
        if isRunning, let pid = processIdentifier { Foundation.kill(pid, SIGTERM) }
    }

    /// SIGKILL to the lab's process group; nothing it started survives.
    public func kill() {
        if isRunning { Foundation.kill(-process.processIdentifier, SIGKILL) }
    }

    /// CPU time (user + system) the lab has used so far, from `/proc/PID/stat`.
    public func cpuTime() -> Duration? {
        guard let pid = processIdentifier,
            let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": state is field 3, utime 14 and stime 15 (clock ticks).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / max(ticks, 1))
    }

    /// How many descriptors the lab has open now, from `/proc/PID/fd`. nil: it has exited.
    public func descriptorCount() -> Int? {
        guard isRunning, let pid = processIdentifier else { return nil }
        return (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
    }

    /// Waits until `condition` holds (true) or `deadline` passes (false).
    private func waitUntil(_ deadline: ContinuousClock.Instant, _ condition: (LabProcess) -> Bool) -> Bool {
        lock.withLock {
            while !condition(self) {
                let left = deadline - .now
                if left <= .zero { return false }
                let (whole, fraction) = left.components
                _ = lock.wait(until: Date(timeIntervalSinceNow: min(Double(whole) + Double(fraction) / 1e18, 3600)))
            }
            return true
        }
    }

    private static func completeLines(_ bytes: [UInt8]) -> [String] {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()  // the part after the last newline is not a complete line yet
        return lines
    }
}

/// Bytes for a trace: quoted as Go's `%q` quotes them, cut to `limit` bytes.
public func excerpt(_ bytes: [UInt8], limit: Int = 160) -> String {
    let text = quoted(Array(bytes.prefix(limit)))
    return bytes.count > limit ? text + "… (\(bytes.count) bytes)" : text
}

public func excerpt(_ text: String, limit: Int = 160) -> String { excerpt(Array(text.utf8), limit: limit) }

/// `0.012s`: durations in a trace, to the millisecond.
func seconds(_ duration: Duration) -> String {
    let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    return "\(milliseconds / 1000).\(String(format: "%03d", milliseconds % 1000))s"
}
