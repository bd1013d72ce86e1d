// What a grade is made of: each lab has checks, each check is worth points, has a time
// limit, and names the chapter section to reread when it fails. A lab's checks and their
// points are declared together, in one file: `Checks/LabNN.swift`.

/// One thing a lab must do, tested from outside: the body runs the lab's executable as a
/// process against loopback peers and throws `CheckFailure` when the lab gets it wrong.
public struct Check: Sendable {
    public let name: String
    public let points: Int
    /// The hard limit: a body still running then loses the check, and the run goes on.
    public let limit: Duration
    /// The heading of the chapter section that explains what this check tests.
    public let section: String
    /// The chapter holding that section, when it is not the lab's own (`Chapters/README.md`).
    public let chapter: String?
    let body: @Sendable (CheckContext) throws -> Void

    public init(
        _ name: String, points: Int, limit: Duration = .seconds(10), section: String,
        chapter: String? = nil, _ body: @escaping @Sendable (CheckContext) throws -> Void
    ) {
        self.name = name
        self.points = points
        self.limit = limit
        self.section = section
        self.chapter = chapter
        self.body = body
    }
}

/// A check that did not pass, with the one line that says what was wrong. The trace of
/// what the check did before it failed comes from the `CheckContext`.
public struct CheckFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One lab's grading: which executable, which chapter, the checks and their points, the hints.
public struct LabGrading: Sendable {
    public let number: Int
    /// The executable's name (`blocking-read`), as built in the bin directory.
    public let executable: String
    /// The chapter the lab belongs to (`Chapters/03-blocking-read.md`).
    public let chapter: String
    public let hints: [String]
    public let checks: [Check]

    public init(number: Int, executable: String, chapter: String, hints: [String], checks: [Check]) {
        self.number = number
        self.executable = executable
        self.chapter = chapter
        self.hints = hints
        self.checks = checks
    }

    public var possible: Int { checks.reduce(0) { $0 + $1.points } }
    /// `lab 3 blocking-read`
    public var title: String { "lab \(number) \(executable)" }
}

/// A lab joins the grading by declaring, in `Sources/Grading/Checks/LabNN.swift`,
/// `enum LabNN: GradedLab { static let grading = LabGrading(...) }`, and one line in `Registry`.
public protocol GradedLab {
    static var grading: LabGrading { get }
}

public enum Registry {
    /// Every graded lab, in lab order. (A test fails if a lab with exercises is missing here.)
    public static let labs: [LabGrading] = [
        Lab01.grading,
        Lab02.grading,
        Lab03.grading,
        Lab04.grading,
        Lab05.grading,
        Lab06.grading,
        Lab07.grading,
        Lab08.grading,
        Lab09.grading,
        Lab10.grading,
        Lab11.grading,
        Lab12.grading,
        Lab13.grading,
    ].sorted { $0.number < $1.number }

    public static func lab(_ number: Int) -> LabGrading? { labs.first { $0.number == number } }
}
