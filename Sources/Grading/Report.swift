// The grade as people and machines read it: a table for the terminal, `grade.json`, and
// JUnit XML for an LMS or a CI server. The same run writes all three, whoever runs it.
// GRADING.md documents both file formats.
import Foundation

public struct GradeReport: Codable, Sendable {
    /// Names this layout; a change to it gets a new number.
    public var format = "swift-net-guide-grade/2"
    public let points: Int
    public let possible: Int
    public let labs: [LabResult]
    /// Who and what was graded, when, by which grader (GRADING.md § The reports).
    public var submission: String?
    public var gradedAt: String?
    public var grader: String?
    public var sourcesSHA256: String?
    /// What the grader ignored or found on the way (a shipped .build, the project one level down…).
    public var notes: [String]?
    /// False when graded with --unsafe (or by the student, unsandboxed).
    public var sandboxed: Bool?

    public init(labs: [LabResult]) {
        self.labs = labs
        points = labs.reduce(0) { $0 + $1.points }
        possible = labs.reduce(0) { $0 + $1.possible }
    }

    /// `2026-12-03T09:23:42Z`
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date())
    }

    public var isFullMarks: Bool { points == possible }

    // MARK: For people

    /// One line per check as it finishes: `  ✓ name  3/3  0.214s`.
    public static func progressLine(_ result: CheckResult) -> String {
        let mark =
            switch result.status {
            case .passed: "✓"
            case .failed: "✗"
            case .timeout: "⏱"
            case .error: "!"
            }
        var line =
            "  \(mark) \(result.name)  \(result.points)/\(result.possible)  \(String(format: "%.3fs", result.duration))"
        if result.status == .timeout { line += "  (time limit)" }
        if !result.message.isEmpty {
            line += "\n" + result.message.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
        }
        return line
    }

    /// The summary table: lab, checks passed, points, and the total.
    public var table: String {
        let rows = labs.map { lab in
            ("\(lab.lab)", lab.name, "\(lab.passed)/\(lab.checks.count)", "\(lab.points)/\(lab.possible)")
        }
        let total = (
            "", "total", "\(labs.reduce(0) { $0 + $1.passed })/\(labs.reduce(0) { $0 + $1.checks.count })",
            "\(points)/\(possible)"
        )
        let all = [("lab", "name", "checks", "points")] + rows + [total]
        let widths = [
            all.map(\.0.count).max()!, all.map(\.1.count).max()!, all.map(\.2.count).max()!, all.map(\.3.count).max()!,
        ]
        func format(_ row: (String, String, String, String)) -> String {
            [
                pad(row.0, widths[0]), pad(row.1, widths[1]), pad(row.2, widths[2], right: true),
                pad(row.3, widths[3], right: true),
            ]
            .joined(separator: "  ")
        }
        let rule = String(repeating: "-", count: widths.reduce(0, +) + 6)
        return ([format(all[0]), rule] + rows.map(format) + [rule, format(total)]).joined(separator: "\n")
    }

    // MARK: For machines

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// JUnit XML: one `<testsuite>` per lab, one `<testcase>` per check; points as properties.
    public func junit() -> String {
        func time(_ seconds: Double) -> String { String(format: "%.3f", seconds) }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        let failures = labs.flatMap(\.checks).count { $0.status == .failed || $0.status == .timeout }
        let errors = labs.flatMap(\.checks).count { $0.status == .error }
        xml +=
            #"<testsuites name="swift-net-guide" tests="\#(labs.flatMap(\.checks).count)" "#
            + #"failures="\#(failures)" errors="\#(errors)" time="\#(time(labs.flatMap(\.checks).reduce(0) { $0 + $1.duration }))">"#
            + "\n"
        for lab in labs {
            let suite = "lab\(lab.lab < 10 ? "0" : "")\(lab.lab)-\(lab.name)"
            xml +=
                #"  <testsuite name="\#(escape(suite))" tests="\#(lab.checks.count)" "#
                + #"failures="\#(lab.checks.count { $0.status == .failed || $0.status == .timeout })" "#
                + #"errors="\#(lab.checks.count { $0.status == .error })" time="\#(time(lab.checks.reduce(0) { $0 + $1.duration }))">"#
                + "\n"
            xml += "    <properties>\n"
            xml += #"      <property name="points" value="\#(lab.points)"/>"# + "\n"
            xml += #"      <property name="possible" value="\#(lab.possible)"/>"# + "\n"
            xml += #"      <property name="chapter" value="\#(escape(lab.chapter))"/>"# + "\n"
            xml += "    </properties>\n"
            for check in lab.checks {
                xml +=
                    #"    <testcase classname="\#(escape(suite))" name="\#(escape(check.name))" time="\#(time(check.duration))">"#
                    + "\n"
                xml += "      <properties>\n"
                xml += #"        <property name="points" value="\#(check.points)"/>"# + "\n"
                xml += #"        <property name="possible" value="\#(check.possible)"/>"# + "\n"
                xml += "      </properties>\n"
                let first =
                    check.message.split(separator: "\n").first { $0.hasPrefix("✗ ") }.map { String($0.dropFirst(2)) }
                    ?? check.message.split(separator: "\n").first.map(String.init) ?? ""
                switch check.status {
                case .passed: break
                case .failed, .timeout:
                    xml +=
                        #"      <failure type="\#(check.status.rawValue)" message="\#(escape(first))">"#
                        + escape(check.message) + "</failure>\n"
                case .error:
                    xml +=
                        #"      <error type="error" message="\#(escape(first))">"# + escape(check.message)
                        + "</error>\n"
                }
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// Writes `grade.json` and `junit.xml` into `directory` (created if need be).
    public func write(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try json().write(to: directory.appendingPathComponent("grade.json"))
        try Data(junit().utf8).write(to: directory.appendingPathComponent("junit.xml"))
    }
}

private func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let space = String(repeating: " ", count: max(0, width - text.count))
    return right ? space + text : text + space
}

/// Text for XML: the five special characters escaped; control characters XML 1.0 forbids dropped.
func escape(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
        case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: break
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
