// Keeping the exercises honest, as Rustlings does: the student's copy, as shipped, must
// score below full marks in every lab that has exercises, while the reference solution
// scores full marks. And plausible student mistakes must each be caught by the check
// meant for them, with a message that points at the right idea.
//
// One temporary copy, one build: the student's copy (`Starter`), plus one extra lab per
// mistake in `Tests/Mistakes/` (a copy of the reference lab with the mistake in it), built
// with its own scratch folder. `make test` runs this suite alone, after the others.
import Foundation
import Grading
import Literate
import Testing

/// A plausible student mistake, read from `Tests/Mistakes/labNN-name.mistake`:
///     lab: 3
///     check: the name of the check that must catch it
///     says: words that check's message must contain (the idea it points at)
///     file: main.swift                    (optional: the file in Labs/NN-name/)
///     --- replace
///     lines of the reference lab, found exactly once
///     --- with
///     the lines with the mistake
/// One file per mistake, so a lab adds its own without touching a shared list.
struct Mistake: Sendable, CustomStringConvertible {
    let name: String
    let lab: Int
    let file: String
    let check: String
    let says: String
    let replace: String
    let with: String

    var description: String { name }

    static let folder = Paths.root.appendingPathComponent("Tests/Mistakes")

    static func all() throws -> [Mistake] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mistake") }.sorted()
            .map { try Mistake(file: $0) }
    }

    init(file name: String) throws {
        let text = try String(contentsOf: Mistake.folder.appendingPathComponent(name), encoding: .utf8)
        let parts = text.components(separatedBy: "\n--- replace\n")
        let bodies = parts.count == 2 ? parts[1].components(separatedBy: "\n--- with\n") : []
        guard bodies.count == 2 else { throw LabFailure("\(name): needs `--- replace` and `--- with` lines") }
        var fields: [String: String] = [:]
        for line in parts[0].split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else {
                throw LabFailure("\(name): `\(line)` is not `key: value`")
            }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard let lab = fields["lab"].flatMap(Int.init), let check = fields["check"], let says = fields["says"] else {
            throw LabFailure("\(name): needs `lab:`, `check:` and `says:`")
        }
        self.name = String(name.dropLast(".mistake".count))
        (self.lab, self.check, self.says, self.file) = (lab, check, says, fields["file"] ?? "main.swift")
        (replace, with) = (bodies[0], bodies[1].hasSuffix("\n") ? String(bodies[1].dropLast()) : bodies[1])
    }
}

@Suite(.serialized) struct GradingHonesty {
    @Test func stubsFailSolutionsPassAndMistakesAreCaught() async throws {
        let copy = try temporaryDirectory("guide-starter")
        defer { try? FileManager.default.removeItem(at: copy) }

        // The student's copy, and the mistakes beside it as extra labs.
        let exercises = try Starter(root: Paths.root).generate(into: copy)
        let labsWithExercises = Set(exercises.map(\.lab))
        #expect(!labsWithExercises.isEmpty)
        try addMistakes(to: copy)
        let build = try await onThread { try swiftBuild(copy) }
        try #require(build.status == 0, "the student's copy does not build:\n\(build.stderr)\(build.stdoutText)")
        let studentBinaries = copy.appendingPathComponent(".build/debug")

        // No solution left in the copy; its chapters' listings show the stubs, consistently.
        for exercise in exercises {
            let text = try String(contentsOf: copy.appendingPathComponent(exercise.file), encoding: .utf8)
            #expect(
                !text.contains("BEGIN SOLUTION") && text.contains("exercise(lab: \(exercise.lab)"), "\(exercise.file)")
        }
        if FileManager.default.fileExists(atPath: copy.appendingPathComponent("Chapters").path) {
            #expect(try Literate.Book(root: copy).checkListings().isEmpty)
        }

        // Every lab with exercises scores below full marks as shipped, and says why; and the
        // same every time: graded three times, each check earns the same points each time.
        for number in labsWithExercises.sorted() {
            let lab = try #require(Registry.lab(number), "lab \(number) has exercises but no checks")
            // The three runs at once: a third of the time, and a race with the stub shows sooner under load.
            async let one = onThread { Grader(binaries: studentBinaries).grade(lab) }
            async let two = onThread { Grader(binaries: studentBinaries).grade(lab) }
            async let three = onThread { Grader(binaries: studentBinaries).grade(lab) }
            let (result, second, third) = try await (one, two, three)
            for again in [second, third] {
                for (first, second) in zip(result.checks, again.checks) {
                    #expect(
                        first.points == second.points,
                        "lab \(number), \(first.name): the starter scored \(first.points), then \(second.points)")
                }
            }
            #expect(
                result.points < result.possible,
                "lab \(number)'s stubs pass every check: \(result.points)/\(result.possible)")
            let tasks = exercises.filter { $0.lab == number }.map(\.task)
            #expect(
                result.checks.contains { check in tasks.contains { check.message.contains($0) } },
                "lab \(number): no failure names the exercise's task")
        }

        // The reference scores full marks in every graded lab, and each mistake is caught by its
        // check, with a message that points at the right idea. The two side by side, each one
        // lab or mistake at a time: two streams of checks, as a class graded with JOBS=2 runs.
        // Where a sandbox can be made, GradingIsolation grades the reference's every lab, built
        // and checked in the sandbox, which shows more than grading it here would: not twice.
        let mistakes = try Mistake.all()
        #expect(mistakes.count >= 3, "Tests/Mistakes/ should hold the labs' mistakes")
        var caught: [(Mistake, Check)] = []
        for mistake in mistakes {
            let lab = try #require(Registry.lab(mistake.lab))
            let check = try #require(
                lab.checks.first { $0.name == mistake.check }, "\(mistake): no check named \(mistake.check)")
            caught.append((mistake, check))
        }
        let toCatch = caught
        let referenceLabs = GradingIsolation.noSandbox == nil ? [] : Registry.labs
        async let references = onThread { referenceLabs.map { Grader(binaries: Paths.binaries).grade($0) } }
        async let mistakeResults = onThread {
            toCatch.map { mistake, check in
                Grader(binaries: studentBinaries).run(
                    check, executable: studentBinaries.appendingPathComponent(mistake.name),
                    chapter: Registry.lab(mistake.lab)?.chapter ?? "")
            }
        }
        for (lab, result) in zip(referenceLabs, try await references) {
            let failed = result.checks.filter { $0.status != .passed }
            #expect(
                result.points == result.possible,
                "reference lab \(lab.number): \(failed.map { "\($0.name)\n\($0.message)" }.joined(separator: "\n"))")
        }
        for ((mistake, _), result) in zip(toCatch, try await mistakeResults) {
            #expect(result.status == .failed, "\(mistake): \(result.status)\n\(result.message)")
            #expect(
                result.message.contains(mistake.says),
                "\(mistake): the message misses `\(mistake.says)`:\n\(result.message)")
        }
    }
}

/// Each mistake becomes a lab of its own, `Labs/9N-NAME` (executable NAME): a copy of the
/// reference lab's folder with the mistake applied, added to the copy's Package.swift.
func addMistakes(to copy: URL) throws {
    let labs = Paths.root.appendingPathComponent("Labs")
    let folders = try FileManager.default.contentsOfDirectory(atPath: labs.path)
    var added: [(folder: String, source: String)] = []
    for (index, mistake) in try Mistake.all().enumerated() {
        let source = try #require(folders.first { $0.hasPrefix(String(format: "%02d-", mistake.lab)) })
        let folder = "9\(index)-\(mistake.name)"
        try FileManager.default.copyItem(
            at: labs.appendingPathComponent(source), to: copy.appendingPathComponent("Labs/\(folder)"))
        let file = copy.appendingPathComponent("Labs/\(folder)/\(mistake.file)")
        let text = try String(contentsOf: file, encoding: .utf8)
        try #require(
            text.components(separatedBy: mistake.replace).count == 2,
            "\(mistake): its `--- replace` lines must occur exactly once in Labs/\(source)/\(mistake.file)")
        try write(text.replacingOccurrences(of: mistake.replace, with: mistake.with), to: file)
        added.append((folder, source))
    }
    let manifest = copy.appendingPathComponent("Package.swift")
    var lines = try String(contentsOf: manifest, encoding: .utf8).components(separatedBy: "\n")
    let labsLine = try #require(lines.firstIndex(of: "let labs = ["))
    lines.insert(contentsOf: added.map { "    \"\($0.folder)\"," }, at: labsLine + 1)
    // A mistake's lab needs what its reference lab needs (`labExtras`: DNS, TLS…).
    for (folder, source) in added {
        if let extras = lines.firstIndex(where: { $0.hasPrefix("    \"\(source)\": [") }) {
            lines.insert(lines[extras].replacingOccurrences(of: "\"\(source)\"", with: "\"\(folder)\""), at: extras + 1)
        }
    }
    try write(lines.joined(separator: "\n"), to: manifest)
}

/// `swift build` in `directory`, with its own scratch folder there (and its temporary
/// files too: SwiftPM leaves a lock file per scratch folder in TMPDIR).
func swiftBuild(_ directory: URL) throws -> Finished {
    let temporary = directory.appendingPathComponent(".build-tmp")
    try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
    let process = try LabProcess(
        URL(fileURLWithPath: "/usr/bin/env"),
        [
            "TMPDIR=\(temporary.path)", "swift", "build", "-q", "--package-path", directory.path,
            "--scratch-path", directory.appendingPathComponent(".build").path,
        ],
        limit: .seconds(600))
    return process.finish(until: .now + .seconds(600))
}
