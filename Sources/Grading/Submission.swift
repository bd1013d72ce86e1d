// A student's copy of the project, graded with THIS checkout's checks: we build its labs
// in its own build folder, one product at a time (a lab that does not compile loses its
// own points only), and run our checks against its executables. Its tests never run.
import Foundation

public struct Submission: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Its own build folder, inside the submission.
    public var scratch: URL { root.appendingPathComponent(".build") }
    public var binaries: URL { scratch.appendingPathComponent("debug") }
    public var name: String { root.lastPathComponent }

    /// The lab numbers it has (`Labs/NN-name` folders).
    public func labNumbers() -> [Int] {
        let folders =
            (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Labs").path)) ?? []
        return folders.compactMap { folder in
            folder.contains("-") ? Int(folder.prefix { $0.isNumber }) : nil
        }.sorted()
    }

    /// Builds one executable with `swift build`. nil: built; otherwise the compiler's errors.
    public func build(product: String, limit: Duration = .seconds(900)) -> String? {
        let swift = ProcessInfo.processInfo.environment["SWIFT"] ?? "swift"  // as the Makefile's SWIFT
        let arguments = [
            swift, "build", "-q", "--package-path", root.path, "--scratch-path", scratch.path,
            "--product", product,
        ]
        let process: LabProcess
        do {
            process = try LabProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments, limit: limit)
        } catch {
            return "could not run swift build: \(error)"
        }
        let finished = process.finish(until: .now + limit)
        if finished.status == 0 && !finished.killed { return nil }
        let output = (finished.stdoutLines + finished.stderr.split(separator: "\n").map(String.init))
        var errors: [String] = []  // each `FILE:LINE:COL: error: …` once, without the drawings under it
        for line in output where line.contains(": error:") && !errors.contains(line) { errors.append(line) }
        let shown = (errors.isEmpty ? Array(output.suffix(10)) : Array(errors.prefix(10)))
        return
            (finished.killed ? "swift build took too long and was stopped" : "swift build --product \(product) failed:")
            + "\n" + shown.map { "  " + $0 }.joined(separator: "\n")
    }
}
