// Keeping the exercises honest, as Rustlings does: the student's copy, as shipped, must
// score below full marks in every lab that has exercises, while the reference solution
// scores full marks. And plausible student mistakes must each be caught by the check
// meant for them, with a message that points at the right idea.
//
// One temporary copy, one build: the student's copy (`Starter`), plus one extra lab per
// mistake (a copy of the reference lab with the mistake in it), built with its own
// scratch folder. `make test` runs this suite alone, after the others.
import Foundation
import Grading
import Literate
import Testing

/// A plausible student mistake: `replace` becomes `with` in a copy of the reference lab.
struct Mistake: Sendable, CustomStringConvertible {
    let name: String
    let lab: Int
    let replace: String
    let with: String
    /// The check that must catch it, and words its message must contain.
    let caughtBy: String
    let pointsAt: String

    var description: String { name }
}

let mistakes: [Mistake] = [
    Mistake(name: "eof-as-error", lab: 3,
            replace: "if count == 0 { return }",
            with: #"if count == 0 { throw NetError(op: "read", network: "tcp", remote: address, reason: .other("EOF")) }"#,
            caughtBy: "copies what the server sends, then exits 0 at EOF", pointsAt: "not an error"),
    Mistake(name: "eof-never-ends", lab: 3,
            replace: "if count == 0 { return }", with: "if count == 0 { continue }",
            caughtBy: "copies what the server sends, then exits 0 at EOF", pointsAt: "the loop must end there"),
    Mistake(name: "reads-once", lab: 3,
            replace: "writeRaw(Array(buffer[..<count]))", with: "writeRaw(Array(buffer[..<count])); return",
            caughtBy: "keeps reading while bytes arrive late (a read returns what is there)",
            pointsAt: "keep reading until read() returns 0"),
    Mistake(name: "whole-buffer", lab: 3,
            replace: "writeRaw(Array(buffer[..<count]))", with: "writeRaw(buffer)",
            caughtBy: "copies 100000 bytes of every value unchanged", pointsAt: "buffer[..<count]"),
    Mistake(name: "eagain-is-fatal", lab: 4,
            replace: "case .wouldBlock:\n",
            with: #"case .wouldBlock: throw NetError(op: "read", network: "udp", remote: conn.localAddress.description, SystemError(call: "recvfrom", code: EAGAIN))"# + "\n",
            caughtBy: "waits through EAGAIN and prints each datagram as FROM: PAYLOAD", pointsAt: "EAGAIN"),
    Mistake(name: "busy-loop", lab: 4,
            replace: "guard try conn.socket.wait(for: .readable, until: deadline) else {",
            with: "guard !(deadline?.hasPassed ?? false) else {",
            caughtBy: "sleeps in poll() while nothing arrives (no busy loop)", pointsAt: "busy loop"),
    Mistake(name: "ignores-timeout", lab: 4,
            replace: "conn.socket.wait(for: .readable, until: deadline)", with: "conn.socket.wait(for: .readable, until: nil)",
            caughtBy: "--timeout 300ms with nothing sent: `read udp ADDR: i/o timeout`, exit 1",
            pointsAt: "give poll() the time left"),
    Mistake(name: "small-datagram-buffer", lab: 1,
            replace: "let (bytes, sender) = try server.readFrom(maxLength: 1024,",
            with: "let (bytes, sender) = try server.readFrom(maxLength: 4,",
            caughtBy: "UDP: three sendto, three recvfrom, each datagram whole", pointsAt: "size its buffer"),
]

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
            #expect(!text.contains("BEGIN SOLUTION") && text.contains("exercise(lab: \(exercise.lab)"), "\(exercise.file)")
        }
        if FileManager.default.fileExists(atPath: copy.appendingPathComponent("Chapters").path) {
            #expect(try Literate.Book(root: copy).checkListings().isEmpty)
        }

        // Every lab with exercises scores below full marks as shipped, and says why.
        for number in labsWithExercises.sorted() {
            let lab = try #require(Registry.lab(number), "lab \(number) has exercises but no checks")
            let result = try await onThread { Grader(binaries: studentBinaries).grade(lab) }
            #expect(result.points < result.possible, "lab \(number)'s stubs pass every check: \(result.points)/\(result.possible)")
            let tasks = exercises.filter { $0.lab == number }.map(\.task)
            #expect(result.checks.contains { check in tasks.contains { check.message.contains($0) } },
                    "lab \(number): no failure names the exercise's task")
        }

        // The reference scores full marks in every graded lab.
        for lab in Registry.labs {
            let result = try await onThread { Grader(binaries: Paths.binaries).grade(lab) }
            let failed = result.checks.filter { $0.status != .passed }
            #expect(result.points == result.possible,
                    "reference lab \(lab.number): \(failed.map { "\($0.name)\n\($0.message)" }.joined(separator: "\n"))")
        }

        // Each mistake is caught by its check, with a message that points at the right idea.
        for mistake in mistakes {
            let lab = try #require(Registry.lab(mistake.lab))
            let check = try #require(lab.checks.first { $0.name == mistake.caughtBy }, "no check named \(mistake.caughtBy)")
            let result = try await onThread {
                Grader(binaries: studentBinaries).run(check, executable: studentBinaries.appendingPathComponent(mistake.name),
                                                      chapter: lab.chapter)
            }
            #expect(result.status == .failed, "\(mistake): \(result.status)\n\(result.message)")
            #expect(result.message.contains(mistake.pointsAt), "\(mistake): the message misses `\(mistake.pointsAt)`:\n\(result.message)")
        }
    }
}

/// Each mistake becomes a lab of its own, `Labs/9N-NAME` (executable NAME): a copy of the
/// reference lab's folder with the mistake applied, added to the copy's Package.swift.
func addMistakes(to copy: URL) throws {
    let labs = Paths.root.appendingPathComponent("Labs")
    let folders = try FileManager.default.contentsOfDirectory(atPath: labs.path)
    var added: [String] = []
    for (index, mistake) in mistakes.enumerated() {
        let source = try #require(folders.first { $0.hasPrefix(String(format: "%02d-", mistake.lab)) })
        let folder = "9\(index)-\(mistake.name)"
        let main = labs.appendingPathComponent(source).appendingPathComponent("main.swift")
        let text = try String(contentsOf: main, encoding: .utf8)
        try #require(text.components(separatedBy: mistake.replace).count == 2, "\(mistake): `\(mistake.replace)` must occur once in \(source)")
        try write(text.replacingOccurrences(of: mistake.replace, with: mistake.with),
                  to: copy.appendingPathComponent("Labs/\(folder)/main.swift"))
        added.append(folder)
    }
    let manifest = copy.appendingPathComponent("Package.swift")
    let text = try String(contentsOf: manifest, encoding: .utf8)
    try #require(text.contains("let labs = ["))
    try write(text.replacingOccurrences(of: "let labs = [", with: "let labs = [" + added.map { "\n    \"\($0)\"," }.joined()),
              to: manifest)
}

/// `swift build` in `directory`, with its own scratch folder there.
func swiftBuild(_ directory: URL) throws -> Finished {
    let process = try LabProcess(URL(fileURLWithPath: "/usr/bin/env"),
                                 ["swift", "build", "-q", "--package-path", directory.path,
                                  "--scratch-path", directory.appendingPathComponent(".build").path],
                                 limit: .seconds(600))
    return process.finish(until: .now + .seconds(600))
}
