// Running a lab executable as a process, the way a reader (or an outside program) would.
import Foundation
import Literate
import Testing

/// Runs a lab to the end and returns its exit status and output.
func runLab(_ name: String, _ arguments: [String] = [], timeout: TimeInterval = labTimeout) async throws -> LabRun {
    let executable = Paths.lab(name)
    try #require(
        FileManager.default.isExecutableFile(atPath: executable.path),
        "\(executable.path) is missing: run `make test`, which builds the labs first")
    return try await onThread { try LabRun(executable, arguments, timeout: timeout) }
}

/// A lab in a server role: started, its `listening on HOST:PORT` line read, then stopped.
final class RunningLab: @unchecked Sendable {
    let process = Process()
    private let output = Pipe(), errors = Pipe()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var errorText = Data()
    private var streamsOpen = 2
    private var finished: Bool { streamsOpen == 0 }

    /// Starts `name` with `arguments` and waits (up to 30 s) for its first line. With a
    /// `launcher` (`["/usr/bin/prlimit", "--nofile=20"]`), that command runs the lab: it
    /// must `exec` it, so that `process` is the lab itself.
    init(_ name: String, _ arguments: [String], launcher: [String] = []) async throws {
        if let command = launcher.first {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = launcher.dropFirst() + [Paths.lab(name).path] + arguments
        } else {
            process.executableURL = Paths.lab(name)
            process.arguments = arguments
        }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Thread { [self] in
            var pending = Data()
            while case let chunk = output.fileHandleForReading.availableData, !chunk.isEmpty {
                pending += chunk
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending = Data(pending[(newline + 1)...])
                    lock.withLock {
                        lines.append(line); lock.broadcast()
                    }
                }
            }
            lock.withLock {
                streamsOpen -= 1; lock.broadcast()
            }
        }.start()
        Thread { [self] in  // stderr on its own thread: a full pipe must never stall the lab
            let text = errors.fileHandleForReading.readDataToEndOfFile()
            lock.withLock {
                errorText = text; streamsOpen -= 1; lock.broadcast()
            }
        }.start()
        _ = try await line(0)
    }

    /// Output line `index` (0-based), waiting for it to be printed.
    func line(_ index: Int, timeout: TimeInterval = 30) async throws -> String {
        try await onThread { [self] in
            let limit = Date(timeIntervalSinceNow: timeout)
            return try lock.withLock {
                while lines.count <= index && !finished {
                    if !lock.wait(until: limit) { break }
                }
                guard index < lines.count else {
                    throw LabFailure(
                        "no line \(index + 1) from \(process.executableURL!.lastPathComponent) "
                            + "(so far: \(lines), stderr: \(String(decoding: errorText, as: UTF8.self)))")
                }
                return lines[index]
            }
        }
    }

    /// The address from `listening on HOST:PORT`.
    var address: String {
        get async throws {
            let first = try await line(0)
            try #require(first.hasPrefix("listening on "), "first line was \(first)")
            return String(first.dropFirst("listening on ".count))
        }
    }

    /// Waits for the process to end on its own; returns status, stdout lines, stderr.
    func wait(timeout: TimeInterval = 30) async throws -> (status: Int32, lines: [String], stderr: String) {
        try await onThread { [self] in
            let limit = Date(timeIntervalSinceNow: timeout)
            let done = lock.withLock {
                while !finished { if !lock.wait(until: limit) { break } }
                return finished
            }
            if !done { process.terminate() }
            process.waitUntilExit()
            return lock.withLock {
                (done ? process.terminationStatus : -1, lines, String(decoding: errorText, as: UTF8.self))
            }
        }
    }

    /// SIGTERM, then wait.
    func stop() async throws -> (status: Int32, lines: [String], stderr: String) {
        if process.isRunning { process.terminate() }
        return try await wait()
    }

    deinit { if process.isRunning { process.terminate() } }
}

struct LabFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
