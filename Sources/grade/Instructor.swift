// An instructor's run: one submission or a class, each isolated and sandboxed
// (SubmissionGrader), the class N at a time, with progress and a summary row for every
// folder, graded or not.
import Foundation
import Grading
import Synchronization

/// The grader for this checkout's course. Refuses (exit 2) when no sandbox can be made,
/// unless `unsafe`.
func instructorGrader(_ labs: [LabGrading], unsafe allowed: Bool) -> SubmissionGrader {
    let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    guard FileManager.default.fileExists(atPath: here.appendingPathComponent("Sources/Grading").path) else {
        usageError("run an instructor's grading from the course's checkout (where Sources/Grading is)")
    }
    var sandboxed = true
    if let why = Sandbox.unavailable() {
        guard allowed else {
            FileHandle.standardError.write(
                Data(
                    ("grade: cannot sandbox the submissions (\(why)); grading them would run the students' code "
                        + "as you: fix that, or pass --unsafe (make grade UNSAFE=1) to grade without a sandbox\n").utf8)
            )
            exit(2)
        }
        say("grade: --unsafe: no sandbox (\(why)); the students' code runs as you")
        sandboxed = false
    }
    // World-traversable folders (the sandboxes' user must reach what is bound), listable by us only.
    let top = FileManager.default.temporaryDirectory.appendingPathComponent("swift-net-guide-grading")
    let work = top.appendingPathComponent("run-\(getpid())")
    do {
        for folder in [top, work] {
            try FileManager.default.createDirectory(
                at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try FileManager.default.setAttributes([.posixPermissions: 0o711], ofItemAtPath: folder.path)
        }
        let course = try Course(root: here, cache: top, sandboxed: sandboxed)
        say("building the course's module and labs once (\(course.commit))")
        let grader = SubmissionGrader(
            course: course, labs: labs,
            grader: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(), work: work)
        try grader.prepare()
        return grader
    } catch {
        fail("\(error)")
    }
}

/// Grades every folder in `folder`, `jobs` at a time; reports in OUT/NAME/, and OUT/summary.csv.
func gradeClass(_ folder: URL, _ grader: SubmissionGrader, jobs: Int, out: URL) {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
        !$0.hasPrefix(".")
    }.sorted().filter {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path, isDirectory: &isFolder)
            && isFolder.boolValue
    }
    guard !names.isEmpty else { fail("no folders in \(folder.path)") }
    let next = Atomic<Int>(0)
    let done = Atomic<Int>(0)
    let reports = Mutex<[String: GradeReport]>([:])
    let start = ContinuousClock.now
    say("grading \(names.count) folders, \(jobs) at a time")
    let group = DispatchGroup()
    for _ in 0..<min(jobs, names.count) {
        group.enter()
        Thread {
            while case let index = next.add(1, ordering: .relaxed).oldValue, index < names.count {
                let began = ContinuousClock.now
                let report = grader.grade(Submission(folder: folder.appendingPathComponent(names[index])))
                write(report, to: out.appendingPathComponent(names[index]))
                reports.withLock { $0[names[index]] = report }
                let finished = done.add(1, ordering: .relaxed).newValue
                let took = (ContinuousClock.now - began).components.seconds
                say("[\(finished)/\(names.count)] \(names[index]): \(report.points)/\(report.possible)  (\(took)s)")
            }
            group.leave()
        }.start()
    }
    group.wait()
    let all = reports.withLock { $0 }
    var summary = "submission,status,points,possible" + grader.labs.map { ",lab\($0.number)" }.joined() + "\n"
    for name in names {
        guard let report = all[name] else { continue }
        let status =
            report.notes?.first { $0.hasPrefix("not a submission") }
            ?? report.notes?.first { $0.hasPrefix("the project is one level down") }.map { "graded; \($0)" }
            ?? "graded"
        let perLab = grader.labs.map { lab in report.labs.first { $0.lab == lab.number }.map { "\($0.points)" } ?? "" }
        summary +=
            ([csv(name), csv(status), "\(report.points)", "\(report.possible)"] + perLab).joined(separator: ",")
            + "\n"
    }
    do { try Data(summary.utf8).write(to: out.appendingPathComponent("summary.csv")) } catch { fail("\(error)") }
    say(
        "graded \(names.count) folders in \((ContinuousClock.now - start).components.seconds)s; reports: "
            + "\(out.path)/NAME/grade.json and junit.xml; summary: \(out.path)/summary.csv")
}

/// A CSV field, quoted when it must be.
func csv(_ field: String) -> String {
    field.contains(where: { ",\"\n".contains($0) })
        ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
}
