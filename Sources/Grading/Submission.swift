// A student's folder, as an instructor receives it. What we grade is what the student
// writes: the course's lab folders in its `Labs/`. Nothing else of it is used (its
// Package.swift, its copy of the shared module, a `.build` it shipped): the labs are built
// in a fresh tree made from the course's checkout (`Course`), and the report says what was
// ignored. Every folder gets a verdict: a project, a project one level down, or not a
// submission, and why.
import Foundation

public struct Submission: Sendable {
    /// The folder's name in the class folder (or the folder given).
    public let name: String
    public let folder: URL
    /// The project: the folder itself, or the one project one level down.
    public let root: URL?
    /// Why it is not a submission (no project here or one level down).
    public let problem: String?
    /// What the report should say about where the project was.
    public let whereFound: String?

    /// Limits on what we copy from a student's folder: it is untrusted input.
    static let largestFile = 1 << 20
    static let mostFiles = 500

    public init(folder: URL) {
        self.folder = folder
        name = folder.lastPathComponent
        if Submission.isProject(folder) {
            (root, problem, whereFound) = (folder, nil, nil)
            return
        }
        let inside = Submission.entries(folder)
        let projects = inside.filter { Submission.isProject(folder.appendingPathComponent($0)) }
        if projects.count == 1 {
            root = folder.appendingPathComponent(projects[0])
            (problem, whereFound) = (nil, "the project is one level down, in \(name)/\(projects[0])")
        } else if projects.count > 1 {
            root = nil
            problem = "several projects one level down (\(projects.joined(separator: ", "))): which one to grade?"
            whereFound = nil
        } else {
            root = nil
            let shown = inside.prefix(5).joined(separator: ", ") + (inside.count > 5 ? ", …" : "")
            problem =
                "no Labs/ folder here or one level down"
                + (inside.isEmpty ? " (the folder is empty)" : " (it holds: \(shown))")
            whereFound = nil
        }
    }

    /// The lab folders (`NN-name`) in `root/Labs`.
    public static func labFolders(_ root: URL) -> [String] {
        entries(root.appendingPathComponent("Labs")).filter { $0.first?.isNumber == true && $0.contains("-") }
    }

    /// A project has a `Labs/` folder with at least one `NN-name` lab folder in it.
    static func isProject(_ folder: URL) -> Bool {
        !labFolders(folder).isEmpty
    }

    /// Names in a folder, sorted, without hidden ones and without following a symlink.
    static func entries(_ folder: URL) -> [String] {
        var isFolder: ObjCBool = false
        guard (try? FileManager.default.destinationOfSymbolicLink(atPath: folder.path)) == nil,
            FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue
        else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
            !$0.hasPrefix(".")
        }.sorted()
    }

    /// Copies the course's lab folders (`labs`, like `03-blocking-read`) that the project has
    /// into `destination` (regular files only, within the limits), and says what it left out.
    /// Returns the labs copied and the notes for the report.
    func copyLabs(_ labs: [String], course: Course, into destination: URL) throws -> (
        copied: Set<String>, notes: [String]
    ) {
        guard let root else { return ([], []) }
        let manager = FileManager.default
        var copied: Set<String> = [], notes: [String] = [], files = 0
        for lab in labs {
            let from = root.appendingPathComponent("Labs/\(lab)")
            guard Submission.isFolder(from) else { continue }
            let enumerator = manager.enumerator(atPath: from.path)
            while let path = enumerator?.nextObject() as? String {
                let source = from.appendingPathComponent(path)
                let attributes = try manager.attributesOfItem(atPath: source.path)
                let type = attributes[.type] as? FileAttributeType
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                if type == .typeDirectory { continue }
                guard type == .typeRegular else {
                    notes.append("ignored: Labs/\(lab)/\(path), which is not a regular file (a symlink?)")
                    continue
                }
                guard size <= Submission.largestFile else {
                    notes.append("ignored: Labs/\(lab)/\(path), larger than 1 MiB")
                    continue
                }
                files += 1
                guard files <= Submission.mostFiles else {
                    notes.append("ignored: files after the first \(Submission.mostFiles) in Labs/")
                    return (copied, notes)
                }
                let to = destination.appendingPathComponent("\(lab)/\(path)")
                try manager.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                try manager.copyItem(at: source, to: to)
                copied.insert(lab)
            }
        }
        for extra in Submission.entries(root.appendingPathComponent("Labs")) where !labs.contains(extra) {
            notes.append("ignored: Labs/\(extra), not a lab of this course")
        }
        return (copied, notes + ignoredParts(course: course))
    }

    /// What the student changed or shipped that the grader does not use.
    func ignoredParts(course: Course) -> [String] {
        guard let root else { return [] }
        var notes: [String] = []
        if FileManager.default.fileExists(atPath: root.appendingPathComponent(".build").path) {
            notes.append("ignored: the .build folder it shipped (the labs are built afresh)")
        }
        let package = root.appendingPathComponent("Package.swift")
        if let theirs = FileManager.default.contents(atPath: package.path),
            theirs != FileManager.default.contents(atPath: course.root.appendingPathComponent("Package.swift").path)
        {
            notes.append("ignored: its Package.swift, which differs from the course's (the course's is used)")
        }
        let changed = course.files.filter { $0.hasPrefix("Sources/") }.filter { file in
            let theirs = root.appendingPathComponent(file)
            return FileManager.default.fileExists(atPath: theirs.path)
                && FileManager.default.contents(atPath: theirs.path)
                    != FileManager.default.contents(atPath: course.root.appendingPathComponent(file).path)
        }
        if !changed.isEmpty {
            notes.append(
                "ignored: its changes to the shared code (\(changed.prefix(3).joined(separator: ", "))"
                    + "\(changed.count > 3 ? ", …" : "")); the course's is used")
        }
        return notes
    }

    static func isFolder(_ url: URL) -> Bool {
        var isFolder: ObjCBool = false
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) == nil
            && FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && isFolder.boolValue
    }
}
