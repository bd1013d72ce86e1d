// The solution markers and the stubs that replace them; the registry of graded labs; the
// runner's hard time limit. Fast tests: no build, no lab.
import Foundation
import Grading
import Testing

@Suite struct ExerciseMarkerTests {
    let source = """
        import LabKit

        func f() throws -> Int {
            let a = 1
            // BEGIN SOLUTION: add "one" \\ more § the section
            let b = a + 1
            return b
            // END SOLUTION
        }
        """

    @Test func aRegionBecomesOneStubThatKeepsItsIndentation() {
        let (regions, errors) = Exercises.regions(in: source, file: "Labs/07-x/main.swift")
        #expect(errors.isEmpty)
        #expect(
            regions == [
                SolutionRegion(begin: 5, end: 8, task: "add \"one\" \\ more", section: "the section", indent: "    ")
            ])
        let stubbed = Exercises.stubbed(source, regions: regions, lab: 7, chapter: "Chapters/07-x.md")
        #expect(
            stubbed == """
                import LabKit

                func f() throws -> Int {
                    let a = 1
                    exercise(lab: 7, task: "add \\"one\\" \\\\ more", chapter: "Chapters/07-x.md § the section")
                }
                """)
    }

    @Test func aFileWithoutLabKitGetsTheImport() {
        let text = "import Sockets\nfunc g() {\n    // BEGIN SOLUTION\n    print(1)\n    // END SOLUTION\n}"
        let (regions, _) = Exercises.regions(in: text, file: "Labs/02-y/more.swift")
        let stubbed = Exercises.stubbed(text, regions: regions, lab: 2, chapter: "chapter 2")
        #expect(stubbed.hasPrefix("import LabKit\nimport Sockets\n"))
        #expect(stubbed.contains("    exercise(lab: 2, task: \"write the missing part\", chapter: \"chapter 2\")"))
    }

    @Test func nestedUnterminatedAndStrayMarkersAreErrorsWithFileAndLine() {
        let nested = "// BEGIN SOLUTION: a\n// BEGIN SOLUTION: b\n// END SOLUTION\n"
        #expect(
            Exercises.regions(in: nested, file: "Labs/01-a/main.swift").errors.map(\.description)
                == ["Labs/01-a/main.swift:2: BEGIN SOLUTION inside the region begun at line 1: regions do not nest"])
        let open = "x\n  // BEGIN SOLUTION: a\ny\n"
        #expect(
            Exercises.regions(in: open, file: "f.swift").errors.map(\.description)
                == ["f.swift:2: BEGIN SOLUTION without an END SOLUTION (unterminated)"])
        let stray = "// END SOLUTION\n"
        #expect(
            Exercises.regions(in: stray, file: "f.swift").errors.map(\.description)
                == ["f.swift:1: END SOLUTION without a BEGIN SOLUTION"])
    }

    @Test func theStarterRefusesBrokenMarkersAndWritesNothing() throws {
        let root = try temporaryDirectory("starter-broken")
        defer { try? FileManager.default.removeItem(at: root) }
        try write("// BEGIN SOLUTION: never ends\nlet x = 1\n", to: root.appendingPathComponent("Labs/05-z/main.swift"))
        let destination = root.appendingPathComponent("out")
        #expect {
            try Starter(root: root).generate(into: destination)
        } throws: { error in
            "\(error)" == "Labs/05-z/main.swift:1: BEGIN SOLUTION without an END SOLUTION (unterminated)"
        }
        #expect(!FileManager.default.fileExists(atPath: destination.path))
    }

    @Test func everyLabsMarkersAreWellFormed() throws {
        let labs = Paths.root.appendingPathComponent("Labs")
        let files =
            FileManager.default.enumerator(atPath: labs.path)?.compactMap { $0 as? String }.filter {
                $0.hasSuffix(".swift")
            } ?? []
        #expect(!files.isEmpty)
        for file in files {
            let text = try String(contentsOf: labs.appendingPathComponent(file), encoding: .utf8)
            let errors = Exercises.regions(in: text, file: "Labs/\(file)").errors
            #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
        }
    }
}

@Suite struct GradingRegistryTests {
    /// A checks file missing from `Registry` would silently not be graded: catch it here.
    @Test func everyChecksFileIsFoundAndNamesARealLab() throws {
        let folder = Paths.root.appendingPathComponent("Sources/Grading/Checks")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        let numbers = files.compactMap { $0.wholeMatch(of: /Lab([0-9]{2})\.swift/).flatMap { Int($0.1) } }.sorted()
        #expect(
            Registry.labs.map(\.number) == numbers,
            "each Checks/LabNN.swift declares `enum LabNN: GradedLab`, listed in `Registry.labs`")
        let labFolders = try FileManager.default.contentsOfDirectory(
            atPath: Paths.root.appendingPathComponent("Labs").path)
        for lab in Registry.labs {
            let folder = String(format: "%02d-%@", lab.number, lab.executable)
            #expect(
                labFolders.contains(folder), "lab \(lab.number)'s checks name `\(lab.executable)`: no Labs/\(folder)")
            #expect(lab.possible > 0 && lab.checks.allSatisfy { $0.points > 0 })
            #expect(Set(lab.checks.map(\.name)).count == lab.checks.count, "check names must be unique within a lab")
            #expect(!lab.hints.isEmpty, "lab \(lab.number) has no hints")
            #expect(lab.chapter.hasPrefix("Chapters/\(String(format: "%02d", lab.number))-"))
        }
    }

    /// A lab with exercises must have checks, or the honesty check cannot hold it to them.
    @Test func everyLabWithExercisesHasChecks() throws {
        let labs = Paths.root.appendingPathComponent("Labs")
        for folder in try FileManager.default.contentsOfDirectory(atPath: labs.path) {
            let files =
                FileManager.default.enumerator(atPath: labs.appendingPathComponent(folder).path)?
                .compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
            let marked = try files.contains { file in
                try String(
                    contentsOf: labs.appendingPathComponent(folder).appendingPathComponent(file), encoding: .utf8
                )
                .contains("// BEGIN SOLUTION")
            }
            if marked, let number = Int(folder.prefix(2)) {
                #expect(
                    Registry.lab(number) != nil,
                    "Labs/\(folder) has solution regions but no Sources/Grading/Checks/Lab\(folder.prefix(2)).swift")
            }
        }
    }
}

@Suite struct GradingRunnerTests {
    /// A body that never returns loses its check at the limit; its lab process is killed;
    /// the grader goes on.
    @Test func aHangingCheckTimesOutAndItsProcessIsKilled() async throws {
        let pid = Pid()
        let hang = Check("hangs", points: 5, limit: .seconds(1), section: "s") { c in
            let process = try c.start(["60"])
            pid.value = process.processIdentifier ?? 0
            c.note("started sleep 60")
            Thread.sleep(forTimeInterval: 30)
        }
        let start = ContinuousClock.now
        let result = try await onThread {
            Grader(binaries: URL(fileURLWithPath: "/bin")).run(
                hang, executable: URL(fileURLWithPath: "/bin/sleep"), chapter: "Chapters/x.md")
        }
        // Well before the body's 30 s: the grader moved on at the limit (a loaded machine has
        // been seen to take 12 s to start, kill and reap the process, so no tighter bound).
        #expect(ContinuousClock.now - start < .seconds(25))
        #expect(result.status == .timeout)
        #expect(result.points == 0 && result.possible == 5)
        #expect(result.message.contains("$ sleep 60") && result.message.contains("started sleep 60"))
        #expect(result.message.hasSuffix("reread: Chapters/x.md § s"))
        try await onThread { Thread.sleep(forTimeInterval: 0.5) }
        #expect(kill(pid.value, 0) == -1, "the lab process should be gone")
    }

    @Test func aMissingExecutableIsAnError() async throws {
        let result = try await onThread {
            Grader(binaries: URL(fileURLWithPath: "/nonexistent"))
                .grade(
                    LabGrading(
                        number: 9, executable: "nothing-here", chapter: "c", hints: [],
                        checks: [.helpPrintsUsage(points: 2)]))
        }
        #expect(result.points == 0 && result.possible == 2)
        #expect(result.checks.first?.status == .error)
        #expect(result.checks.first?.message.contains("the lab was not built") == true)
    }

    @Test func reportsSayTheSameInJSONAndJUnit() throws {
        let report = GradeReport(labs: [
            LabResult(
                lab: 3, name: "blocking-read", chapter: "Chapters/03.md", points: 2, possible: 5,
                passed: 1,
                checks: [
                    CheckResult(name: "a", status: .passed, points: 2, possible: 2, message: "", duration: 0.1),
                    CheckResult(
                        name: "b <&>", status: .timeout, points: 0, possible: 3, message: "  $ x\n✗ hung", duration: 10),
                ])
        ])
        let json = try JSONSerialization.jsonObject(with: report.json()) as? [String: Any]
        #expect(json?["format"] as? String == "swift-net-guide-grade/2")
        #expect(json?["points"] as? Int == 2 && json?["possible"] as? Int == 5)
        let junit = report.junit()
        #expect(junit.contains(#"<testsuite name="lab03-blocking-read" tests="2" failures="1" errors="0""#))
        #expect(junit.contains(#"<testcase classname="lab03-blocking-read" name="b &lt;&amp;&gt;" time="10.000">"#))
        #expect(junit.contains(#"<failure type="timeout" message="hung">"#))
        #expect(report.table.contains("blocking-read") && report.table.contains("2/5"))
    }
}

final class Pid: @unchecked Sendable { var value: Int32 = 0 }

func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ text: String, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
}

@Suite struct GradingSectionTests {
    /// The headings (`#`, `##`, `###`) of a chapter, lower-cased.
    func headings(_ chapter: String) throws -> Set<String> {
        let text = try String(contentsOf: Paths.root.appendingPathComponent(chapter), encoding: .utf8)
        return Set(
            text.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("#") else { return nil }
                return line.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces).lowercased()
            })
    }

    /// A failing check says "reread: CHAPTER § SECTION": that section must exist.
    @Test func everyCheckPointsAtARealSection() throws {
        for lab in Registry.labs {
            for check in lab.checks {
                let chapter = check.chapter ?? lab.chapter
                #expect(
                    try headings(chapter).contains(check.section.lowercased()),
                    "\(lab.title), check \"\(check.name)\": \(chapter) has no heading \"\(check.section)\"")
            }
        }
    }

    /// A student's stub names the section to read: it must exist too.
    @Test func everyExercisePointsAtARealSection() throws {
        for lab in Registry.labs {
            let folder = Paths.root.appendingPathComponent(
                "Labs/" + String(format: "%02d-%@", lab.number, lab.executable))
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift")
            {
                let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
                for line in source.split(separator: "\n") where line.contains("// BEGIN SOLUTION") {
                    guard let section = line.split(separator: "§").dropFirst().first else { continue }
                    let name = section.trimmingCharacters(in: .whitespaces)
                    #expect(
                        try headings(lab.chapter).contains(name.lowercased()),
                        "\(file): \(lab.chapter) has no heading \"\(name)\"")
                }
            }
        }
    }
}
