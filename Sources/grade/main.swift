// The guide's grader (GRADING.md tells the whole story):
//   grade [--labs 1,3] [--bin DIR] [--out DIR]        grade the labs built in DIR
//   grade --in-place DIR [--labs …] [--out DIR]       a student's own run: build DIR's labs in DIR
//   grade --submission DIR [--labs …] [--out DIR]     an instructor's: isolated, sandboxed
//   grade --submissions DIR [--jobs N] [--out DIR]    every folder in DIR, and a summary
//   grade starter DEST [--from DIR]                    write the student's copy of the project
//   grade hint N [K|all]                               lab N's hints, one at a time or all
//   grade list                                         every check and its points
//   grade checks --bin DIR --result FILE …             the check runner an instructor's run starts
// Exit status: 0 at full marks, 1 below, 2 for a usage error (or no sandbox); --submissions:
// 0 once every submission has its report.
import Foundation
import Grading
import Sockets

let usage = """
    usage:
      grade [--labs 1,3] [--bin DIR] [--out DIR]       grade the labs built in DIR (default: beside grade)
      grade --in-place DIR [--labs 1,3] [--out DIR]    a student's own run: build DIR's labs in DIR/.build
                                                       and grade them, unsandboxed
      grade --submission DIR [--labs 1,3] [--out DIR] [--unsafe]
                                                       an instructor's run: DIR's labs built and run in a
                                                       sandbox, in a fresh tree from this checkout
      grade --submissions DIR [--jobs N] [--labs 1,3] [--out DIR] [--unsafe]
                                                       the same for every folder in DIR, N at a time,
                                                       and a summary (OUT/summary.csv)
      grade starter DEST [--from DIR]                  write the student's copy of the project into DEST
      grade hint N [K|all]                             lab N's hint K (default 1), or all of them
      grade list                                       every lab's checks and their points
    reports (grade.json, junit.xml) go to --out DIR, by default ./grade
    """

func say(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))  // unbuffered: progress shows as it goes
}

func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("grade: \(message) (see grade --help)\n".utf8))
    exit(2)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("grade: \(message)\n".utf8))
    exit(1)
}

/// `--flag VALUE` or `--flag=VALUE`, removed from `words`.
func value(_ flag: String, _ words: inout [String]) -> String? {
    if let index = words.firstIndex(where: { $0.hasPrefix(flag + "=") }) {
        return String(words.remove(at: index).dropFirst(flag.count + 1))
    }
    guard let index = words.firstIndex(of: flag) else { return nil }
    guard index + 1 < words.count else { usageError("\(flag) needs a value") }
    defer { words.removeSubrange(index...index + 1) }
    return words[index + 1]
}

func labs(_ list: String?) -> [LabGrading] {
    guard let list else { return Registry.labs }
    return list.split(separator: ",").map { word in
        guard let number = Int(word.trimmingCharacters(in: .whitespaces)) else {
            usageError("--labs: \"\(word)\" is not a lab number")
        }
        guard let lab = Registry.lab(number) else {
            usageError(
                "--labs: lab \(number) has no checks (graded labs: \(Registry.labs.map { "\($0.number)" }.joined(separator: ",")))"
            )
        }
        return lab
    }
}

/// Grades `labs` from `binaries`, printing progress; labs in `unbuilt` are recorded as
/// errors with the build's message instead of being run.
func grade(_ labs: [LabGrading], binaries: URL, unbuilt: [Int: String] = [:], quiet: Bool = false) -> GradeReport {
    let grader = Grader(binaries: binaries)
    let results = labs.map { lab in
        if !quiet { say("\(lab.title) (\(lab.chapter))") }
        if let message = unbuilt[lab.number] {
            let result = Grader.unrun(lab, status: .error, message: message)
            if !quiet {
                say(
                    "  ! did not build: every check of this lab scores 0\n"
                        + message.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            }
            return result
        }
        return grader.grade(lab) { if !quiet { say(GradeReport.progressLine($0)) } }
    }
    return GradeReport(labs: results)
}

/// A student's own run: builds each lab of `root` in `root/.build` (one that does not compile
/// loses its own points), then grades them, unsandboxed. Every lab counts, found or not.
func gradeInPlace(_ root: URL, _ wanted: [LabGrading]) -> GradeReport {
    let present = Set(Submission.labFolders(root))
    var unbuilt: [Int: String] = [:]
    for lab in wanted {
        let folder = String(format: "%02d-", lab.number) + lab.executable
        guard present.contains(folder) else {
            unbuilt[lab.number] = "missing: there is no Labs/\(folder), so every check of this lab scores 0"
            continue
        }
        say("building \(lab.executable) in \(root.path)")
        let build = root.appendingPathComponent(".build")
        if let errors = Course.swiftBuild(lab.executable, course: root, labs: nil, build: build, sandboxed: false) {
            unbuilt[lab.number] = errors
        }
    }
    var report = grade(wanted, binaries: root.appendingPathComponent(".build/debug"), unbuilt: unbuilt)
    report.gradedAt = GradeReport.now()
    report.sandboxed = false
    return report
}

/// Writes the reports, prints the table, exits 0 at full marks and 1 below.
func finish(_ report: GradeReport, out: URL) -> Never {
    write(report, to: out)
    say("")
    for note in report.notes ?? [] { say("note: \(note)") }
    say(report.table)
    say("reports: \(out.appendingPathComponent("grade.json").path), \(out.appendingPathComponent("junit.xml").path)")
    exit(report.isFullMarks ? 0 : 1)
}

func write(_ report: GradeReport, to out: URL) {
    do { try report.write(to: out) } catch { fail("could not write the reports into \(out.path): \(error)") }
}

let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
var words = Array(CommandLine.arguments.dropFirst())
if words.contains("--help") || words.contains("-h") {
    say("grade: the guide's checks, points and reports; and the student's copy of the project.\n\n" + usage)
    exit(0)
}

switch words.first {
case "starter":
    words.removeFirst()
    let from = value("--from", &words).map { URL(fileURLWithPath: $0) } ?? here
    guard words.count == 1, !words[0].hasPrefix("-") else { usageError("starter needs one destination directory") }
    let destination = URL(fileURLWithPath: words[0])
    do {
        let exercises = try Starter(root: from).generate(into: destination)
        say("wrote the student's copy to \(destination.path), with \(exercises.count) exercise(s):")
        for exercise in exercises { say("  lab \(exercise.lab)  \(exercise.file):\(exercise.line)  \(exercise.task)") }
        say("(listed in \(destination.appendingPathComponent("EXERCISES.md").path))")
    } catch {
        fail("\(error)")
    }

case "hint":
    guard words.count >= 2, words.count <= 3, let number = Int(words[1]) else { usageError("hint needs a lab number") }
    guard let lab = Registry.lab(number) else { usageError("lab \(number) has no checks, so no hints") }
    let which = words.count == 3 ? words[2] : "1"
    if which == "all" {
        for (index, hint) in lab.hints.enumerated() { say("hint \(index + 1) of \(lab.hints.count): \(hint)\n") }
    } else {
        guard let index = Int(which), index >= 1, index <= lab.hints.count else {
            usageError("lab \(number) has hints 1 to \(lab.hints.count) (or all)")
        }
        say("\(lab.title), hint \(index) of \(lab.hints.count): \(lab.hints[index - 1])")
        if index < lab.hints.count {
            say("(next: make hint-\(number) HINT=\(index + 1); every hint: make hint-\(number) HINT=all)")
        }
    }

case "checks":
    // The check runner of an instructor's run (SubmissionGrader starts it in the checks'
    // network): runs the checks of labs already built, each lab process in a lab sandbox,
    // and writes the results where the instructor's grader reads them once it has gone.
    words.removeFirst()
    let quiet = words.contains("--quiet")
    words.removeAll { $0 == "--quiet" }
    guard let bin = value("--bin", &words), let result = value("--result", &words) else {
        usageError("checks needs --bin DIR and --result FILE")
    }
    let shared = value("--sandbox-labs", &words).map { [URL(fileURLWithPath: $0)] }
    let selected = labs(value("--labs", &words))
    let grader = Grader(binaries: URL(fileURLWithPath: bin), sandbox: shared)
    let results = selected.map { lab in
        if !quiet { say("\(lab.title) (\(lab.chapter))") }
        return grader.grade(lab) { if !quiet { say(GradeReport.progressLine($0)) } }
    }
    do { try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: result)) } catch {
        fail("could not write \(result): \(error)")
    }

case "list":
    for lab in Registry.labs {
        say("\(lab.title): \(lab.possible) points (\(lab.chapter))")
        for check in lab.checks { say("  \(check.points)  \(check.name)  [limit \(check.limit.goDescription)]") }
    }

default:
    let labList = value("--labs", &words)
    let out = URL(fileURLWithPath: value("--out", &words) ?? "grade")
    let bin = value("--bin", &words)
    let inPlace = value("--in-place", &words)
    let one = value("--submission", &words)
    let many = value("--submissions", &words)
    let jobs = value("--jobs", &words).map { word in
        guard let jobs = Int(word), jobs >= 1, jobs <= 64 else { usageError("--jobs needs a number from 1 to 64") }
        return jobs
    }
    let unsafeRun = words.contains("--unsafe")
    words.removeAll { $0 == "--unsafe" }
    if let extra = words.first {
        usageError(extra.hasPrefix("-") ? "unknown flag \(extra)" : "unexpected argument \"\(extra)\"")
    }
    if [bin, inPlace, one, many].compactMap({ $0 }).count > 1 {
        usageError("give one of --bin, --in-place, --submission, --submissions")
    }
    let selected = labs(labList)

    if one != nil || many != nil {
        let grader = instructorGrader(selected, unsafe: unsafeRun)
        if let many {
            gradeClass(URL(fileURLWithPath: many), grader, jobs: jobs ?? 1, out: out)
            try? FileManager.default.removeItem(at: grader.work)
            exit(0)  // the class's result is the summary, not a pass or a fail
        }
        let submission = Submission(folder: URL(fileURLWithPath: one!))
        let report = grader.grade(submission) { say($0) }
        try? FileManager.default.removeItem(at: grader.work)  // before finish, which exits
        finish(report, out: out)
    }

    let report: GradeReport
    if let inPlace {
        report = gradeInPlace(URL(fileURLWithPath: inPlace), selected)
    } else {
        let binaries =
            bin.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        report = grade(selected, binaries: binaries)
    }
    finish(report, out: out)
}
