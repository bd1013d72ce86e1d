// An instructor's class run, as GRADING.md promises it: one `grade --submissions` of the
// whole course over a class folder that holds the awkward cases at once, with the sandbox on.
//   clean    every reference lab: each lab of the course is built and checked in the sandbox
//   zipped   labs 1 and 3, with a stale .build, its own Package.swift and a changed module
//   nested   labs 1 and 3, one folder down          partial  lab 3 only
//   broken   lab 1 does not compile, lab 3 does     notes    no project at all
//   forger   labs 1 and 3; lab 3 starts a detached process that tries to rewrite the reports,
//            write into the checkout and read the checks.
// Same solutions, same score; every folder a row, out of the whole course; nothing the forger
// does changes a grade or the checkout. Skipped, saying why, where no sandbox can be made.
import Foundation
import Grading
import Testing

@Suite(.serialized) struct GradingIsolation {
    static let noSandbox = Sandbox.unavailable()

    @Test(.enabled(if: noSandbox == nil, "no sandbox here: \(noSandbox ?? "")"))
    func aClassIsGradedIsolatedCompleteAndUnforgeable() async throws {
        let top = try temporaryDirectory("guide-class")
        defer { try? FileManager.default.removeItem(at: top) }
        let (folder, out) = (top.appendingPathComponent("class"), top.appendingPathComponent("out"))
        let checks = Paths.root.appendingPathComponent("Sources/Grading/Checks/Lab03.swift")
        let checksBefore = try Data(contentsOf: checks)
        let stolen = top.appendingPathComponent("stolen")
        try makeClass(in: folder, out: out, stolen: stolen, checks: checks)

        let run = try await onThread {
            try runGrade(["--submissions", folder.path, "--jobs", "2", "--out", out.path])
        }
        try #require(run.status == 0, "grade --submissions failed:\n\(run.output)")
        let reportsBefore = try reportFiles(out)
        try await onThread { Thread.sleep(forTimeInterval: 4) }  // the forger's helper waited 3 s

        // Nothing the forger started changed a report, the checkout, or got out with the checks.
        #expect(try reportFiles(out) == reportsBefore, "a report changed after the grader finished")
        #expect(try Data(contentsOf: checks) == checksBefore, "the checkout's checks were changed")
        #expect(!FileManager.default.fileExists(atPath: stolen.path), "the checks were copied out")
        #expect(!FileManager.default.fileExists(atPath: Paths.root.appendingPathComponent("forged").path))
        #expect(!processExists(withArgument: "3.0917"), "the forger's detached process outlived its lab")

        let report = { (name: String) throws -> GradeReport in
            try JSONDecoder().decode(
                GradeReport.self, from: Data(contentsOf: out.appendingPathComponent("\(name)/grade.json")))
        }
        // Every lab of the course was graded, and the reference passes each one in the sandbox:
        // a lab added to the course without checks, or whose checks fail sandboxed, fails here.
        let clean = try report("clean")
        let courseLabs = try FileManager.default.contentsOfDirectory(
            atPath: Paths.root.appendingPathComponent("Labs").path
        )
        .compactMap { $0.first?.isNumber == true ? Int($0.prefix { $0.isNumber }) : nil }.sorted()
        #expect(courseLabs.count >= 13 && Registry.labs.map(\.number) == courseLabs)
        #expect(clean.labs.map(\.lab) == courseLabs, "graded \(clean.labs.map(\.lab)), the course has \(courseLabs)")
        #expect(clean.points == clean.possible && clean.possible > 0, "\(clean.table)")
        for lab in clean.labs where lab.points < lab.possible {
            let failed = lab.checks.filter { $0.status != .passed }
            Issue.record(
                "lab \(lab.lab), sandboxed: \(failed.map { "\($0.name)\n\($0.message)" }.joined(separator: "\n"))")
        }
        #expect(clean.submission == "clean" && clean.gradedAt != nil && clean.grader != nil)
        #expect(clean.sandboxed == true && clean.sourcesSHA256?.count == 64)
        let points = { (report: GradeReport, lab: Int) in report.labs.first { $0.lab == lab }?.points }
        for name in ["zipped", "nested", "forger"] {
            let other = try report(name)
            #expect(other.possible == clean.possible && other.labs.map(\.lab) == courseLabs, "\(name)")
            #expect(
                points(other, 1) == points(clean, 1) && points(other, 3) == points(clean, 3)
                    && other.points == (points(clean, 1) ?? 0) + (points(clean, 3) ?? 0),
                "\(name):\n\(other.table)")
            #expect(
                other.labs.filter { ![1, 3].contains($0.lab) }.allSatisfy {
                    $0.checks.allSatisfy { $0.message.hasPrefix("missing:") }
                }, "\(name): the labs it does not have score 0, missing")
        }
        #expect(try report("nested").sourcesSHA256 == report("zipped").sourcesSHA256, "the same labs hash the same")
        let zipped = try report("zipped").notes ?? []
        for ignored in [".build", "Package.swift", "shared code"] {
            #expect(zipped.contains { $0.hasPrefix("ignored:") && $0.contains(ignored) }, "\(ignored): \(zipped)")
        }
        #expect(try report("nested").notes?.contains { $0.contains("one level down") } == true)

        let partial = try report("partial")
        #expect(partial.possible == clean.possible && partial.points < clean.points)
        #expect(partial.labs.first { $0.lab == 1 }?.checks.allSatisfy { $0.message.hasPrefix("missing:") } == true)
        let broken = try report("broken")
        #expect(broken.possible == clean.possible)
        #expect(broken.labs.first { $0.lab == 1 }?.checks.first?.message.hasPrefix("did not build") == true)
        #expect(broken.labs.first { $0.lab == 3 }.map { $0.points == $0.possible } == true)

        let summary = try String(contentsOf: out.appendingPathComponent("summary.csv"), encoding: .utf8)
        let rows = summary.split(separator: "\n").dropFirst()
        #expect(
            rows.map { $0.prefix { $0 != "," } } == [
                "broken", "clean", "forger", "nested", "notes", "partial", "zipped",
            ])
        #expect(
            rows.first { $0.hasPrefix("notes,") }?.contains("not a submission: no Labs/ folder") == true, "\(summary)")
        #expect(rows.first { $0.hasPrefix("nested,") }?.contains("one level down") == true, "\(summary)")
    }

    /// The class folder (see the top of this file).
    func makeClass(in folder: URL, out: URL, stolen: URL, checks: URL) throws {
        let manager = FileManager.default
        let labs = Paths.root.appendingPathComponent("Labs")
        // A project with the reference's labs (`only` those, when given).
        func project(_ path: String, only: [String]? = nil) throws -> URL {
            let root = folder.appendingPathComponent(path)
            try manager.createDirectory(at: root.appendingPathComponent("Labs"), withIntermediateDirectories: true)
            for lab in try only ?? manager.contentsOfDirectory(atPath: labs.path) {
                try manager.copyItem(
                    at: labs.appendingPathComponent(lab), to: root.appendingPathComponent("Labs/\(lab)"))
            }
            return root
        }
        let oneAndThree = ["01-stream-and-datagram", "03-blocking-read"]
        _ = try project("clean")
        _ = try project("nested/swift-net-guide", only: oneAndThree)
        let zipped = try project("zipped", only: oneAndThree)
        try manager.createDirectory(
            at: zipped.appendingPathComponent(".build/debug"), withIntermediateDirectories: true)
        try write("#!/bin/sh\necho stale\n", to: zipped.appendingPathComponent(".build/debug/blocking-read"))
        try write(
            "// swift-tools-version: 6.0\n// the student's own\n", to: zipped.appendingPathComponent("Package.swift"))
        try manager.createDirectory(
            at: zipped.appendingPathComponent("Sources/Sockets"), withIntermediateDirectories: true)
        try write("// changed\n", to: zipped.appendingPathComponent("Sources/Sockets/Socket.swift"))
        let partial = folder.appendingPathComponent("partial/Labs")
        try manager.createDirectory(at: partial, withIntermediateDirectories: true)
        try manager.copyItem(
            at: labs.appendingPathComponent("03-blocking-read"), to: partial.appendingPathComponent("03-blocking-read"))
        let broken = try project("broken", only: oneAndThree)
        let one = broken.appendingPathComponent("Labs/01-stream-and-datagram/main.swift")
        try write(try String(contentsOf: one, encoding: .utf8) + "\nthis is not Swift\n", to: one)
        try manager.createDirectory(at: folder.appendingPathComponent("notes"), withIntermediateDirectories: true)
        try write("my notes\n", to: folder.appendingPathComponent("notes/README.md"))

        // The forger: when its lab starts, a detached helper (setsid) waits for the grader to
        // finish, then rewrites every report it can find, writes into the checkout and copies
        // the checks out; and the lab itself fails every check if it can read the checks.
        let forger = try project("forger", only: oneAndThree)
        let main = forger.appendingPathComponent("Labs/03-blocking-read/main.swift")
        let script = """
            sleep 3.0917; for f in \(out.path)/*/grade.json \(out.path)/*/junit.xml \(out.path)/summary.csv; do \
            echo '{"points":999}' > "$f"; done; echo forged >> \(checks.path); echo forged > \(Paths.root.path)/forged; \
            cp \(checks.path) \(stolen.path)
            """
        let attack = """
            import Foundation
            let helper = Process()
            helper.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            helper.arguments = ["sh", "-c", \(literal(script))]
            try? helper.run()
            if FileManager.default.isReadableFile(atPath: \(literal(checks.path))) { exit(42) }

            """
        try write(attack + (try String(contentsOf: main, encoding: .utf8)), to: main)
    }

    func literal(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Every report file under `out`, and its contents.
    func reportFiles(_ out: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: out.path)
        while let path = enumerator?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: out.appendingPathComponent(path).path) {
                files[path] = data
            }
        }
        return files
    }

    func processExists(withArgument argument: String) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.contains { entry in
            guard Int(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else {
                return false
            }
            return String(decoding: data, as: UTF8.self).contains(argument)
        }
    }
}

/// Runs this build's `grade` from the checkout (where an instructor runs it).
func runGrade(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = Paths.binaries.appendingPathComponent("grade")
    process.arguments = arguments
    process.currentDirectoryURL = Paths.root
    let output = try temporaryDirectory("guide-grade-log").appendingPathComponent("log")
    _ = FileManager.default.createFile(atPath: output.path, contents: nil)
    let handle = try FileHandle(forWritingTo: output)
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    process.waitUntilExit()
    try handle.close()
    return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
}
