// The guide's grader (GRADING.md tells the whole story):
//   grade [--labs 1,3] [--bin DIR] [--out DIR]        grade the labs built in DIR
//   grade --submission DIR [--labs …] [--out DIR]     build a student's copy, grade it with our checks
//   grade --submissions DIR [--labs …] [--out DIR]    every submission in DIR, and a summary
//   grade starter DEST [--from DIR]                    write the student's copy of the project
//   grade hint N [K|all]                               lab N's hints, one at a time or all
//   grade list                                         every check and its points
// Exit status: 0 at full marks, 1 below, 2 for a usage error; --submissions: 0 once every
// submission has its report.
import Foundation
import Grading
import Sockets

let usage = """
    usage:
      grade [--labs 1,3] [--bin DIR] [--out DIR]       grade the labs built in DIR (default: beside grade)
      grade --submission DIR [--labs 1,3] [--out DIR]  build the student's copy in DIR (in DIR/.build)
                                                       and grade it with this checkout's checks
      grade --submissions DIR [--labs 1,3] [--out DIR] the same for every project folder in DIR
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

/// Builds and grades one student's copy. Labs it does not have are not graded.
func gradeSubmission(_ submission: Submission, _ wanted: [LabGrading], quiet: Bool = false) -> GradeReport {
    let present = Set(submission.labNumbers())
    let labs = wanted.filter { present.contains($0.number) }
    var unbuilt: [Int: String] = [:]
    for lab in labs {
        if !quiet { say("building \(lab.executable) in \(submission.root.path)") }
        if let errors = submission.build(product: lab.executable) { unbuilt[lab.number] = errors }
    }
    return grade(labs, binaries: submission.binaries, unbuilt: unbuilt, quiet: quiet)
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

case "list":
    for lab in Registry.labs {
        say("\(lab.title): \(lab.possible) points (\(lab.chapter))")
        for check in lab.checks { say("  \(check.points)  \(check.name)  [limit \(check.limit.goDescription)]") }
    }

default:
    let labList = value("--labs", &words)
    let out = URL(fileURLWithPath: value("--out", &words) ?? "grade")
    let bin = value("--bin", &words)
    let one = value("--submission", &words)
    let many = value("--submissions", &words)
    if let extra = words.first {
        usageError(extra.hasPrefix("-") ? "unknown flag \(extra)" : "unexpected argument \"\(extra)\"")
    }
    if [bin, one, many].compactMap({ $0 }).count > 1 { usageError("give one of --bin, --submission, --submissions") }
    let selected = labs(labList)

    if let many {
        let folder = URL(fileURLWithPath: many)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        let submissions = entries.sorted().map { folder.appendingPathComponent($0) }.filter {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("Package.swift").path)
        }
        guard !submissions.isEmpty else { fail("no project folders (with a Package.swift) in \(folder.path)") }
        var summary = "submission,points,possible" + selected.map { ",lab\($0.number)" }.joined() + "\n"
        for root in submissions {
            let submission = Submission(root: root)
            say("== \(submission.name)")
            let report = gradeSubmission(submission, selected, quiet: true)
            write(report, to: out.appendingPathComponent(submission.name))
            say(report.table + "\n")
            let perLab = selected.map { lab in report.labs.first { $0.lab == lab.number }.map { "\($0.points)" } ?? "" }
            summary += "\(submission.name),\(report.points),\(report.possible)," + perLab.joined(separator: ",") + "\n"
        }
        do { try Data(summary.utf8).write(to: out.appendingPathComponent("summary.csv")) } catch { fail("\(error)") }
        say("reports: \(out.path)/NAME/grade.json and junit.xml; summary: \(out.path)/summary.csv")
        exit(0)  // the class's result is the summary, not a pass or a fail
    }

    let report: GradeReport
    if let one {
        report = gradeSubmission(Submission(root: URL(fileURLWithPath: one)), selected)
    } else {
        let binaries =
            bin.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        report = grade(selected, binaries: binaries)
    }
    write(report, to: out)
    say("")
    say(report.table)
    say("reports: \(out.appendingPathComponent("grade.json").path), \(out.appendingPathComponent("junit.xml").path)")
    exit(report.isFullMarks ? 0 : 1)
}
