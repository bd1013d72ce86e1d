// The course, as the instructor's checkout has it: the files git tracks (the instructor-only
// tests left out, as in a student's copy), exported once into a build base and built there
// once, in the build sandbox. Each submission's labs are then built in a copy of that build
// folder, at the same paths, so only the labs recompile: the shared module is built once.
import Foundation

public final class Course: Sendable {
    /// The instructor's checkout.
    public let root: URL
    /// Its files (relative paths), as a student's copy would have them.
    public let files: [String]
    /// Its lab folders (`03-blocking-read`).
    public let labFolders: [String]
    /// `git rev-parse HEAD`, with ` (and uncommitted changes)` when the checkout has them.
    public let commit: String
    /// The base: `source/` (the exported files) and `build/` (its build folder).
    public let base: URL
    /// Whether builds run in the build sandbox (false only with --unsafe).
    public let sandboxed: Bool

    public init(root: URL, cache: URL, sandboxed: Bool) throws {
        self.root = root
        self.sandboxed = sandboxed
        files = try Starter(root: root).projectFiles(excluding: cache)
        labFolders = Set(
            files.filter { $0.hasPrefix("Labs/") }.compactMap { $0.split(separator: "/").dropFirst().first }
        )
        .map(String.init).sorted()
        commit = Course.commit(of: root)
        // One base per content of the course: a changed checkout gets a fresh base.
        let key = try Course.digest(files: files, in: root).prefix(16)
        base = cache.appendingPathComponent("base-\(key)\(sandboxed ? "" : "-unsafe")")
        let manager = FileManager.default
        if !manager.fileExists(atPath: base.path) {
            // Made beside it, then renamed into place: two runs at once never see half a base.
            let making = cache.appendingPathComponent("making-\(UUID().uuidString)")
            for file in files {
                let to = making.appendingPathComponent("source/\(file)")
                try manager.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                try manager.copyItem(at: root.appendingPathComponent(file), to: to)
            }
            // Mount points for the build sandbox's binds, inside the read-only source.
            try manager.createDirectory(
                at: making.appendingPathComponent("source/.build"), withIntermediateDirectories: true)
            try manager.createDirectory(at: making.appendingPathComponent("build"), withIntermediateDirectories: true)
            if (try? manager.moveItem(at: making, to: base)) == nil { try? manager.removeItem(at: making) }
        }
        GradingCache.touch(base)
        GradingCache.prune(cache, keeping: base)
        if sandboxed { try Course.giveToNobody(build) }
    }

    var source: URL { base.appendingPathComponent("source") }
    var build: URL { base.appendingPathComponent("build") }

    /// The lab folder of lab `number` (`03-blocking-read`), if the course has it.
    public func folder(of lab: LabGrading) -> String? {
        labFolders.first { $0 == String(format: "%02d-", lab.number) + lab.executable }
    }

    /// Builds `products` in the base (once; later calls find them built). The errors of the
    /// ones that did not build, by product.
    /// nil in `products` builds everything (`swift build`): then a submission's whole build
    /// is one `swift build` too, its labs compiled side by side.
    public func buildBase(_ products: [String?]) -> [String: String] {
        var errors: [String: String] = [:]
        for product in products {
            if let failed = Course.swiftBuild(product, course: source, labs: nil, build: build, sandboxed: sandboxed) {
                errors[product ?? "the package"] = failed
            }
        }
        return errors
    }

    /// Builds one product with `swift build`, in the build sandbox unless unsafe. nil: built;
    /// otherwise the compiler's errors (or why it was stopped).
    public static func swiftBuild(
        _ product: String?, course: URL, labs: URL?, build: URL, sandboxed: Bool, limit: Duration = .seconds(900)
    ) -> String? {
        let swift = ProcessInfo.processInfo.environment["SWIFT"] ?? "swift"  // as the Makefile's SWIFT
        let words: [String]
        if sandboxed {
            let inside = ["swift", "build", "-q", "--package-path", "/project", "--scratch-path", "/project/.build"]
            words = Sandbox.buildCommand(
                course: course, labs: labs, build: build, inside + (product.map { ["--product", $0] } ?? []))
        } else {
            words =
                [
                    "/usr/bin/env", swift, "build", "-q", "--package-path", course.path, "--scratch-path", build.path,
                ] + (product.map { ["--product", $0] } ?? [])
        }
        let process: LabProcess
        do {
            process = try LabProcess(URL(fileURLWithPath: words[0]), Array(words.dropFirst()), limit: limit)
        } catch {
            return "could not run swift build: \(error)"
        }
        let finished = process.finish(until: .now + limit)
        if finished.status == 0 && !finished.killed { return nil }
        let output = (finished.stdoutLines + finished.stderr.split(separator: "\n").map(String.init))
        var errors: [String] = []  // each `FILE:LINE:COL: error: …` once, without the drawings under it
        for line in output where line.contains(": error:") && !errors.contains(line) {
            errors.append(line.replacingOccurrences(of: "/project/", with: ""))
        }
        let shown = (errors.isEmpty ? Array(output.suffix(10)) : Array(errors.prefix(10)))
        return
            (finished.killed
            ? "swift build took longer than \(seconds(limit)) and was stopped"
            : "swift build\(product.map { " --product \($0)" } ?? "") failed:")
            + "\n" + shown.map { "  " + $0 }.joined(separator: "\n")
    }

    /// SHA-256 over the files (their paths and contents), with coreutils' `sha256sum`: the
    /// digest of `sha256sum`'s listing of them, sorted, with paths relative to `folder`.
    public static func digest(files: [String], in folder: URL) throws -> String {
        let paths = files.sorted().map { folder.appendingPathComponent($0).path }
        let listing = try sha256sum(paths).replacingOccurrences(of: folder.path + "/", with: "")
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("grade-sha-\(UUID().uuidString)")
        try Data(listing.utf8).write(to: temporary)
        defer { try? FileManager.default.removeItem(at: temporary) }
        guard let hash = try sha256sum([temporary.path]).split(separator: " ").first, hash.count == 64 else {
            throw GradingError("sha256sum printed no digest")
        }
        return String(hash)
    }

    private static func sha256sum(_ paths: [String]) throws -> String {
        guard !paths.isEmpty else { return "" }
        let run = try LabProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["sha256sum", "--"] + paths, limit: .seconds(60))
        let finished = run.finish(until: .now + .seconds(60))
        guard finished.status == 0 else { throw GradingError("sha256sum failed: \(finished.summary)") }
        return finished.stdoutText
    }

    static func commit(of root: URL) -> String {
        func git(_ arguments: [String]) -> String? {
            guard
                let run = try? LabProcess(
                    URL(fileURLWithPath: "/usr/bin/env"), ["git", "-C", root.path] + arguments, limit: .seconds(30))
            else { return nil }
            let finished = run.finish(until: .now + .seconds(30))
            return finished.status == 0 ? finished.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) : nil
        }
        guard let head = git(["rev-parse", "HEAD"]) else { return "unknown (not a git checkout)" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return head + (dirty ? " (and uncommitted changes)" : "")
    }

    /// `chown -R nobody:nogroup`: the build sandbox's user must write the build folder.
    static func giveToNobody(_ folder: URL) throws {
        let run = try LabProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["chown", "-R", "\(Sandbox.user):\(Sandbox.user)", folder.path],
            limit: .seconds(120))
        let finished = run.finish(until: .now + .seconds(120))
        guard finished.status == 0 else { throw GradingError("chown failed: \(finished.summary)") }
    }
}

/// Grading itself could not go on (a tool failed, a folder could not be written).
public struct GradingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
