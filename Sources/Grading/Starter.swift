// Exercises: the parts of a lab a student writes are marked in the lab's source,
//     // BEGIN SOLUTION: one-line task § chapter section
//     ...the reference solution...
//     // END SOLUTION
// and the student's copy of the project has each marked region replaced by one line,
//     exercise(lab: 3, task: "…", chapter: "Chapters/03-blocking-read.md § …")
// which compiles wherever the region was (it returns `Never`) and, when run, says what to
// do and where to read. Regions live in `Labs/` only; each must end its block (the last
// statements of a function, a loop body or a `case`), so nothing after the stub is dead code.
import Foundation
import Literate

/// A marked solution region in one file.
public struct SolutionRegion: Sendable, Equatable {
    /// 1-based lines of the BEGIN and END markers.
    public let begin: Int
    public let end: Int
    public let task: String
    /// The chapter section named after `§` on the BEGIN line, if any.
    public let section: String?
    /// The BEGIN marker's indentation, which the stub keeps.
    public let indent: String

    public init(begin: Int, end: Int, task: String, section: String?, indent: String) {
        (self.begin, self.end, self.task, self.section, self.indent) = (begin, end, task, section, indent)
    }
}

/// A broken marker, printed as `Labs/03-blocking-read/main.swift:31: …`.
public struct MarkerError: Error, Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let message: String
    public var description: String { "\(file):\(line): \(message)" }
}

public enum Exercises {
    /// Every solution region of `text`, and every nested, unterminated or stray marker.
    public static func regions(in text: String, file: String) -> (regions: [SolutionRegion], errors: [MarkerError]) {
        var regions: [SolutionRegion] = [], errors: [MarkerError] = []
        var open: (line: Int, task: String, section: String?, indent: String)?
        for (index, line) in lines(text).enumerated() where Region.isSolutionMarker(line) {
            let number = index + 1
            let words = line.trimmingCharacters(in: .whitespaces)
            if words.hasPrefix("// BEGIN SOLUTION") {
                if let open {
                    errors.append(
                        MarkerError(
                            file: file, line: number,
                            message: "BEGIN SOLUTION inside the region begun at line \(open.line): regions do not nest")
                    )
                    continue
                }
                var rest = words.dropFirst("// BEGIN SOLUTION".count).trimmingCharacters(in: .whitespaces)
                if rest.hasPrefix(":") { rest = String(rest.dropFirst()).trimmingCharacters(in: .whitespaces) }
                let parts = rest.components(separatedBy: "§")
                let task = parts[0].trimmingCharacters(in: .whitespaces)
                let section =
                    parts.count > 1 ? parts[1...].joined(separator: "§").trimmingCharacters(in: .whitespaces) : nil
                open = (
                    number, task.isEmpty ? "write the missing part" : task, section,
                    String(line.prefix { $0 == " " || $0 == "\t" })
                )
            } else {  // `// END SOLUTION`
                guard let region = open else {
                    errors.append(
                        MarkerError(file: file, line: number, message: "END SOLUTION without a BEGIN SOLUTION"))
                    continue
                }
                regions.append(
                    SolutionRegion(
                        begin: region.line, end: number, task: region.task,
                        section: region.section, indent: region.indent))
                open = nil
            }
        }
        if let open {
            errors.append(
                MarkerError(
                    file: file, line: open.line, message: "BEGIN SOLUTION without an END SOLUTION (unterminated)"))
        }
        return (regions, errors)
    }

    /// `text` with each region replaced by its stub (and `import LabKit` added if the
    /// file lacks it). `chapter` is the chapter file the stubs point to.
    public static func stubbed(_ text: String, regions: [SolutionRegion], lab: Int, chapter: String) -> String {
        var lines = lines(text)
        for region in regions.reversed() {
            let place = region.section.map { "\(chapter) § \($0)" } ?? chapter
            let stub =
                "\(region.indent)exercise(lab: \(lab), task: \(literal(region.task)), chapter: \(literal(place)))"
            lines.replaceSubrange((region.begin - 1)...(region.end - 1), with: [stub])
        }
        if !regions.isEmpty && !lines.contains(where: { $0.hasPrefix("import LabKit") }) {
            let at = lines.firstIndex { $0.hasPrefix("import ") } ?? 0
            lines.insert("import LabKit", at: at)
        }
        return lines.joined(separator: "\n")
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// A Swift string literal.
    private static func literal(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

/// Writes the student's copy of a project.
public struct Starter {
    /// The project to copy (the reference, with its solutions).
    public let root: URL
    /// Paths (prefixes) never copied into a student's copy: the tests that hold the
    /// solutions' mistakes, and that only make sense where the solutions are.
    public static let instructorOnly = ["Tests/GuideTests/Grading/", "Tests/Mistakes/"]

    public init(root: URL) { self.root = root }

    /// One exercise in the copy: where its stub is, and what it asks.
    public struct Exercise: Sendable {
        public let lab: Int
        public let file: String
        public let line: Int
        public let task: String
        public let chapter: String
    }

    /// Copies the project into `destination` (which must not exist or be empty), with every
    /// solution region replaced by its stub, then re-syncs the chapters' listings from the
    /// stubbed sources. Throws every marker error at once, before writing anything.
    @discardableResult
    public func generate(into destination: URL) throws -> [Exercise] {
        let manager = FileManager.default
        let files = try projectFiles(excluding: destination)
        var stubbed: [String: String] = [:]
        var exercises: [Exercise] = [], errors: [MarkerError] = []
        for file in files where file.hasPrefix("Labs/") && file.hasSuffix(".swift") {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            let (regions, found) = Exercises.regions(in: text, file: file)
            errors += found
            if found.isEmpty && !regions.isEmpty {
                let lab = labNumber(file)
                let chapter = chapterFile(lab)
                let copy = Exercises.stubbed(text, regions: regions, lab: lab, chapter: chapter)
                stubbed[file] = copy
                let stubLines = copy.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                    .filter { $0.element.contains("exercise(lab: \(lab), task: ") }.map { $0.offset + 1 }
                for (region, line) in zip(regions, stubLines) {
                    exercises.append(
                        Exercise(
                            lab: lab, file: file, line: line, task: region.task,
                            chapter: region.section.map { "\(chapter) § \($0)" } ?? chapter))
                }
            }
        }
        if !errors.isEmpty { throw StarterError(errors: errors) }

        if manager.fileExists(atPath: destination.path),
            !(try manager.contentsOfDirectory(atPath: destination.path)).isEmpty
        {
            throw StarterError(message: "\(destination.path) is not empty: give a new or empty directory")
        }
        for file in files {
            let from = root.appendingPathComponent(file), to = destination.appendingPathComponent(file)
            try manager.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            if let text = stubbed[file] {
                try Data(text.utf8).write(to: to)
            } else {
                try manager.copyItem(at: from, to: to)
            }
        }
        if manager.fileExists(atPath: destination.appendingPathComponent("Chapters").path) {
            try Book(root: destination).sync()  // listings show the stubs, as the sources do
        }
        try Data(exercisesList(exercises).utf8).write(to: destination.appendingPathComponent("EXERCISES.md"))
        let readme = destination.appendingPathComponent("README.md")
        if let text = try? String(contentsOf: readme, encoding: .utf8) {
            try Data(Starter.studentNote(text).utf8).write(to: readme)
        }
        return exercises
    }

    /// The project's files: what git tracks plus new files it does not ignore; without
    /// git, every file but build folders. Relative paths, sorted.
    func projectFiles(excluding destination: URL) throws -> [String] {
        let skip = relativePath(of: destination).map { $0 + "/" }
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root.path, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        var files: [String]
        do {
            try git.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            git.waitUntilExit()
            guard git.terminationStatus == 0 else { throw StarterError(message: "git ls-files failed") }
            files = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            files = walk()
        }
        return Set(files).sorted().filter { file in
            !Starter.instructorOnly.contains { file.hasPrefix($0) }
                && !(skip.map { file.hasPrefix($0) } ?? false)
                && FileManager.default.fileExists(atPath: root.appendingPathComponent(file).path)
        }
    }

    private func walk() -> [String] {
        let skipped: Set = [".build", ".git", ".swiftpm", "grade"]
        var files: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey])
        while let url = enumerator?.nextObject() as? URL {
            let name = url.lastPathComponent
            if (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true {
                if skipped.contains(name) || name.hasPrefix(".build") { enumerator?.skipDescendants() }
            } else if let path = relativePath(of: url) {
                files.append(path)
            }
        }
        return files
    }

    private func relativePath(of url: URL) -> String? {
        let base = root.standardizedFileURL.resolvingSymlinksInPath().path + "/"
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        return path.hasPrefix(base) ? String(path.dropFirst(base.count)) : nil
    }

    /// `Labs/03-blocking-read/main.swift` → 3.
    private func labNumber(_ file: String) -> Int {
        Int(file.dropFirst("Labs/".count).prefix { $0.isNumber }) ?? 0
    }

    /// The lab's chapter: from its checks file, else `Chapters/NN-*.md`, else `chapter N`.
    func chapterFile(_ lab: Int) -> String {
        if let grading = Registry.lab(lab) { return grading.chapter }
        let prefix = (lab < 10 ? "0" : "") + "\(lab)-"
        let chapters =
            (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Chapters").path)) ?? []
        return chapters.sorted().first { $0.hasPrefix(prefix) && $0.hasSuffix(".md") }.map { "Chapters/\($0)" }
            ?? "chapter \(lab)"
    }

    /// The copy's README, with a note first on which commands are the student's.
    static func studentNote(_ readme: String) -> String {
        let note = """
            > **This is a student's copy.** Its exercises are stubs (`EXERCISES.md` lists them). Your
            > commands are `make check-N` (build lab N and grade it: exit 0 when every check passes, 1
            > when one fails), `make hint-N` and `make grade` (every lab, and your total), as GRADING.md
            > says; your instructor grades with the same checks. `make test` is the guide's authors'
            > suite: it tests the reference solutions, so it fails here until your labs are done.

            """
        guard let heading = readme.range(of: "\n") else { return note + "\n" + readme }
        return String(readme[..<heading.upperBound]) + "\n" + note + String(readme[heading.upperBound...])
    }

    private func exercisesList(_ exercises: [Exercise]) -> String {
        var text = """
            # Exercises

            Each line below is a stub in this copy: replace it with your code. Build and check one
            lab with `make check-N`, ask for a hint with `make hint-N`, grade everything with
            `make grade` (see GRADING.md).

            """
        for exercise in exercises {
            text +=
                "\n- lab \(exercise.lab), `\(exercise.file):\(exercise.line)`: \(exercise.task) (read \(exercise.chapter))"
        }
        return text + "\n"
    }
}

public struct StarterError: Error, CustomStringConvertible {
    public let description: String
    init(errors: [MarkerError]) { description = errors.map(\.description).joined(separator: "\n") }
    init(message: String) { description = message }
}
