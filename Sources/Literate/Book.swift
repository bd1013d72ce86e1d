// The whole guide at once: every chapter's listings against the sources (`check`,
// `sync`) and every transcript against a real run of its lab (`checkTranscripts`).
import Foundation

/// Something a chapter gets wrong, with where: `Chapters/03-blocking-read.md:42: …`.
public struct Problem: CustomStringConvertible, Equatable, Sendable {
    public let file: String
    public let line: Int
    public let message: String

    public var description: String { "\(file):\(line): \(message)" }
}

public struct Book: Sendable {
    /// The project's top directory (the one holding `Chapters/`).
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Every `Chapters/*.md`, in name order.
    public func chapters() throws -> [Chapter] {
        let folder = root.appendingPathComponent("Chapters")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".md") }.sorted()
        return try names.map { name in
            Chapter(
                path: "Chapters/\(name)",
                text: try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8))
        }
    }

    /// The region a listing names, or the problem that stops us finding it.
    func source(for block: Chapter.Block, in chapter: Chapter) -> Result<[String], ProblemBox> {
        guard case let .listing(path, region) = block.kind else { return .success(block.body) }
        func fail(_ message: String) -> Result<[String], ProblemBox> {
            .failure(ProblemBox(Problem(file: chapter.path, line: block.line, message: message)))
        }
        guard let text = try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) else {
            return fail("listing names \(path), which does not exist")
        }
        guard let lines = Region.extract(region, from: text) else {
            return fail(
                "listing names region `\(region)`, which \(path) does not define (it has: \(Region.names(in: text).joined(separator: ", ")))"
            )
        }
        return .success(lines.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    /// Listings that differ from their source, regions that do not exist, broken markers.
    public func checkListings() throws -> [Problem] {
        var problems: [Problem] = []
        for chapter in try chapters() {
            problems += chapter.malformed.map { Problem(file: chapter.path, line: $0.line, message: $0.message) }
            for block in chapter.blocks {
                guard case let .listing(path, region) = block.kind else { continue }
                switch source(for: block, in: chapter) {
                case .failure(let box): problems.append(box.problem)
                case .success(let lines) where lines != block.body:
                    let at =
                        zip(lines, block.body).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                        ?? min(lines.count, block.body.count)
                    problems.append(
                        Problem(
                            file: chapter.path, line: block.line,
                            message: "listing of \(path)#\(region) differs from the source at its line \(at + 1) "
                                + "(run `make sync` to copy the source into the chapter)"))
                case .success: break
                }
            }
        }
        return problems
    }

    /// Rewrites every listing from its source. Returns the chapters it changed.
    @discardableResult
    public func sync() throws -> [String] {
        var changed: [String] = []
        for chapter in try chapters() {
            let text = chapter.replacingListings { block in try? source(for: block, in: chapter).get() }
            if text != chapter.lines.joined(separator: "\n") {
                try text.write(to: root.appendingPathComponent(chapter.path), atomically: true, encoding: .utf8)
                changed.append(chapter.path)
            }
        }
        return changed
    }

    /// Runs each transcript's lab from `binaries` and compares its stdout with the chapter.
    public func checkTranscripts(binaries: URL, timeout: TimeInterval = 60) throws -> [Problem] {
        var problems: [Problem] = []
        for chapter in try chapters() {
            for block in chapter.blocks {
                guard case let .transcript(executable, arguments) = block.kind else { continue }
                let expected = block.body.first?.hasPrefix("$ ") == true ? Array(block.body.dropFirst()) : block.body
                func problem(_ message: String) -> Problem {
                    Problem(file: chapter.path, line: block.line, message: "transcript of `\(executable)`: \(message)")
                }
                let run: LabRun
                do { run = try LabRun(binaries.appendingPathComponent(executable), arguments, timeout: timeout) } catch
                {
                    problems.append(problem("could not run it: \(error)"))
                    continue
                }
                if run.status != 0 {
                    problems.append(problem("exited with status \(run.status): \(run.stderr.trimmingWhitespace())"))
                } else if let drift = Transcript.mismatch(expected: expected, actual: run.stdoutLines) {
                    problems.append(
                        problem(
                            "drifted from a real run at transcript line \(drift.expectedLine + 1): "
                                + "expected `\(drift.wanted)`, the run printed `\(drift.got)`"))
                }
            }
        }
        return problems
    }
}

extension Book {
    /// Go's command on this machine's `PATH`, or nil when Go is not installed.
    public static func goCommand() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("go") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Builds each `go-build:` folder's `main.go` with `go` and compares the compiler's messages
    /// with the chapter. These are our transcriptions of the source's snippets that do not compile,
    /// so a build that succeeds is a problem too. The wording of Go's messages changes between
    /// versions: a chapter writes `{ANY}` where it may.
    public func checkGoBuilds(go: URL, timeout: TimeInterval = 120) throws -> [Problem] {
        var problems: [Problem] = []
        for chapter in try chapters() {
            for block in chapter.blocks {
                guard case let .goBuild(folder) = block.kind else { continue }
                let expected = block.body.first?.hasPrefix("$ ") == true ? Array(block.body.dropFirst()) : block.body
                func problem(_ message: String) -> Problem {
                    Problem(file: chapter.path, line: block.line, message: "go build of \(folder): \(message)")
                }
                let directory = root.appendingPathComponent(folder)
                guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("main.go").path) else {
                    problems.append(problem("there is no \(folder)/main.go"))
                    continue
                }
                let run: LabRun
                do {
                    run = try LabRun(
                        go, ["build", "-o", "/dev/null", "main.go"], timeout: timeout, in: directory)
                } catch {
                    problems.append(problem("could not run go: \(error)"))
                    continue
                }
                if run.status == 0 {
                    problems.append(problem("it compiled, but the chapter shows it failing"))
                } else if let drift = Transcript.mismatch(expected: expected, actual: run.stderrLines) {
                    problems.append(
                        problem(
                            "drifted from the compiler at transcript line \(drift.expectedLine + 1): "
                                + "expected `\(drift.wanted)`, go printed `\(drift.got)`"))
                }
            }
        }
        return problems
    }
}

/// `Problem` as an `Error`, for `Result`.
struct ProblemBox: Error {
    let problem: Problem
    init(_ problem: Problem) { self.problem = problem }
}

/// One finished run of a lab executable.
public struct LabRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var stdoutLines: [String] { LabRun.lines(stdout) }
    public var stderrLines: [String] { LabRun.lines(stderr) }

    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Runs `executable` to the end (killing it after `timeout` seconds) and collects its output;
    /// in `directory` when one is given.
    public init(_ executable: URL, _ arguments: [String], timeout: TimeInterval, in directory: URL? = nil) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Threads of our own, never Dispatch's global queue: its few threads (as many as the
        // cores) also run Foundation's own work for every Process in this program, and a
        // blocking read parked there would stall all of them.
        let exited = DispatchSemaphore(value: 0)
        Thread {
            if exited.wait(timeout: .now() + timeout) == .timedOut { process.terminate() }
        }.start()
        // Read both pipes to the end, each on its thread, so a full pipe never stalls the lab.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        Thread {
            outData = out.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }.start()
        group.enter()
        Thread {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }.start()
        group.wait()
        process.waitUntilExit()
        exited.signal()
        status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        stdout = String(decoding: outData, as: UTF8.self)
        stderr = String(decoding: errData, as: UTF8.self)
    }
}
