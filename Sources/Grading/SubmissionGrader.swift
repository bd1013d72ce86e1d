// Grading one submission as an instructor does, start to end:
//   1. copy the course's lab folders from the submission into a private folder (nothing else
//      of it is used), and hash them;
//   2. build each lab in a copy of the course's build folder, in the build sandbox;
//   3. run this grader's checks (`grade checks`) in the checks' network, each lab process in
//      its own lab sandbox; they write their results into the private folder;
//   4. once that run and every process in it are gone, read the results and make the report.
// Every lab of the course is in the report: missing, not building, hanging, each scores 0.
import Foundation

public struct SubmissionGrader: Sendable {
    public let course: Course
    public let labs: [LabGrading]
    /// The `grade` executable, run as the check runner.
    public let grader: URL
    /// Private working folders, one per submission, removed when it is graded.
    public let work: URL

    /// Builds take turns: one at a time, whatever the number of submissions graded at once.
    let builds = Turns()

    public init(course: Course, labs: [LabGrading], grader: URL, work: URL) {
        (self.course, self.labs, self.grader, self.work) = (course, labs, grader, work)
    }

    /// Builds the shared module and the course's own labs once, before any submission.
    public func prepare() throws {
        let failed = course.buildBase(wholeCourse ? [nil] : labs.map(\.executable))
        if let (product, errors) = failed.first {
            throw GradingError("the course's own \(product) does not build in the build sandbox:\n\(errors)")
        }
    }

    /// Grading every lab of the course: each submission is then built with one `swift build`.
    var wholeCourse: Bool { Set(labs.compactMap(course.folder)) == Set(course.labFolders) }

    /// The report for `submission`. `say` gets progress lines (nil: quiet).
    public func grade(_ submission: Submission, say: (@Sendable (String) -> Void)? = nil) -> GradeReport {
        var report: GradeReport
        do {
            report = try gradeProject(submission, say: say)
        } catch {
            report = GradeReport(
                labs: labs.map { Grader.unrun($0, status: .error, message: "grading failed: \(error)") })
            report.notes = ["grading failed: \(error)"]
        }
        report.submission = submission.name
        report.gradedAt = GradeReport.now()
        report.grader = course.commit
        report.sandboxed = course.sandboxed
        return report
    }

    private func gradeProject(_ submission: Submission, say: (@Sendable (String) -> Void)?) throws -> GradeReport {
        if let problem = submission.problem {
            var report = GradeReport(
                labs: labs.map { Grader.unrun($0, status: .error, message: "not a submission: \(problem)") })
            report.notes = ["not a submission: \(problem)"]
            return report
        }
        let manager = FileManager.default
        // Only root lists it; the sandboxes' user (nobody) can pass through to what is bound.
        let folder = work.appendingPathComponent(UUID().uuidString)
        try manager.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        defer { try? manager.removeItem(at: folder) }
        let labsFolder = folder.appendingPathComponent("Labs")
        let build = folder.appendingPathComponent("build")
        let temporary = folder.appendingPathComponent("tmp")
        let result = folder.appendingPathComponent("result.json")
        try manager.createDirectory(at: labsFolder, withIntermediateDirectories: true)
        try manager.createDirectory(at: temporary, withIntermediateDirectories: true)

        // 1. The student's labs, and only those.
        let (copied, notes) = try submission.copyLabs(course.labFolders, course: course, into: labsFolder)
        let graded = try files(in: labsFolder)
        let digest = try Course.digest(files: graded, in: labsFolder)
        try readableByAll(labsFolder)
        // The course's Package.swift names every lab, so a missing one needs sources to build:
        // the course's own, hard-linked (the same files, so the copied build folder has them
        // built already and nothing recompiles). Its checks never run: it scores 0, "missing".
        for lab in course.labFolders where !copied.contains(lab) {
            try link(course.source.appendingPathComponent("Labs/\(lab)"), to: labsFolder.appendingPathComponent(lab))
        }

        // 2. Build, in a copy of the course's build folder (same paths in the sandbox).
        GradingCache.touch(course.base)  // in use: no other run prunes it
        try copy(course.build, to: build)
        var results: [Int: LabResult] = [:]
        var toCheck: [LabGrading] = []
        let boundLabs = course.sandboxed ? labsFolder : nil
        let source = course.sandboxed ? course.source : try unsafeTree(labsFolder, folder)
        // Every lab at once when they all compile (one plan, both cores); else one by one, so a
        // lab that does not compile costs only its own points. Submissions graded side by side
        // build one at a time (`builds`): a build uses every core, and the checks of the
        // others, which mostly wait on peers, run meanwhile.
        let allBuilt =
            wholeCourse
            && builds.take {
                say?("building every lab")
                return Course.swiftBuild(
                    nil, course: source, labs: boundLabs, build: build, sandboxed: course.sandboxed) == nil
            }
        for lab in labs {
            guard let name = course.folder(of: lab), copied.contains(name) else {
                let name = course.folder(of: lab) ?? String(format: "%02d-", lab.number) + lab.executable
                results[lab.number] = Grader.unrun(
                    lab, status: .error,
                    message: "missing: the submission has no Labs/\(name), so every check of this lab scores 0")
                continue
            }
            if allBuilt {
                toCheck.append(lab)
                continue
            }
            let errors = builds.take {
                say?("building \(lab.executable)")
                return Course.swiftBuild(
                    lab.executable, course: source, labs: boundLabs, build: build, sandboxed: course.sandboxed)
            }
            if let errors {
                results[lab.number] = Grader.unrun(lab, status: .error, message: "did not build: " + errors)
            } else {
                toCheck.append(lab)
            }
        }

        // 3. The checks, in their own network; each lab process in its own sandbox.
        if !toCheck.isEmpty {
            var words = [
                grader.path, "checks", "--bin", build.appendingPathComponent("debug").path,
                "--labs", toCheck.map { "\($0.number)" }.joined(separator: ","), "--result", result.path,
            ]
            if course.sandboxed { words += ["--sandbox-labs", temporary.path] }
            if say == nil { words.append("--quiet") }
            if course.sandboxed { words = Sandbox.checksCommand(words, temporary: temporary) }
            let limit = toCheck.flatMap(\.checks).reduce(Duration.seconds(120)) { $0 + $1.limit }
            let finished = try runChecks(words, limit: limit, temporary: temporary, say: say)
            // 4. The run is over, and every lab process with it: now read what it found.
            let found = (try? JSONDecoder().decode([LabResult].self, from: Data(contentsOf: result))) ?? []
            for lab in toCheck {
                results[lab.number] =
                    found.first { $0.lab == lab.number }
                    ?? Grader.unrun(
                        lab, status: .error, message: "the checks did not finish (\(finished.summary))")
            }
        }
        var report = GradeReport(labs: labs.compactMap { results[$0.number] })
        report.sourcesSHA256 = digest
        report.notes = ([submission.whereFound].compactMap { $0 } + notes)
        return report
    }

    /// The check runner, its output shown as it goes when `say` is given.
    private func runChecks(_ words: [String], limit: Duration, temporary: URL, say: (@Sendable (String) -> Void)?)
        throws -> Finished
    {
        let process = try LabProcess(URL(fileURLWithPath: words[0]), Array(words.dropFirst()), limit: limit)
        var shown = 0
        if let say {
            while let line = process.line(shown, until: .now + limit) {
                say(line)
                shown += 1
            }
        }
        return process.finish(until: .now + limit)
    }

    /// Unsafe only: a whole tree to build in, the course's files and the submission's labs.
    private func unsafeTree(_ labs: URL, _ folder: URL) throws -> URL {
        let tree = folder.appendingPathComponent("tree")
        guard !FileManager.default.fileExists(atPath: tree.path) else { return tree }
        try copy(course.source, to: tree)
        try FileManager.default.removeItem(at: tree.appendingPathComponent("Labs"))
        try FileManager.default.copyItem(at: labs, to: tree.appendingPathComponent("Labs"))
        return tree
    }

    private func copy(_ from: URL, to: URL) throws {
        // cp -a keeps times and owners: the build folder stays up to date, and nobody's.
        let run = try LabProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["cp", "-a", "--reflink=auto", from.path, to.path],
            limit: .seconds(300))
        let finished = run.finish(until: .now + .seconds(300))
        guard finished.status == 0 else { throw GradingError("cp -a failed: \(finished.summary)") }
    }

    /// `from`'s files hard-linked into a new folder `to` (`cp -al`): the same files, modes and times.
    private func link(_ from: URL, to: URL) throws {
        let run = try LabProcess(
            URL(fileURLWithPath: "/usr/bin/env"), ["cp", "-al", from.path, to.path], limit: .seconds(60))
        let finished = run.finish(until: .now + .seconds(60))
        guard finished.status == 0 else { throw GradingError("cp -al failed: \(finished.summary)") }
    }

    private func files(in folder: URL) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder.path)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if (enumerator?.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { files.append(path) }
        }
        return files.sorted()
    }

    /// The build sandbox's user reads the copied labs whatever modes the student gave them.
    private func readableByAll(_ folder: URL) throws {
        let manager = FileManager.default
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
        let enumerator = manager.enumerator(atPath: folder.path)
        while let path = enumerator?.nextObject() as? String {
            let isFolder = (enumerator?.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory
            try manager.setAttributes(
                [.posixPermissions: isFolder ? 0o755 : 0o644], ofItemAtPath: folder.appendingPathComponent(path).path)
        }
    }
}

/// One at a time: `take` runs its body once no other `take` of the same turns is running.
final class Turns: Sendable {
    private let turn = NSLock()

    func take<T>(_ body: () throws -> T) rethrows -> T {
        try turn.withLock { try body() }
    }
}
