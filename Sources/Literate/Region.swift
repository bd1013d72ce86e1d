// Named regions of a source file, marked the way the Rust book marks its listings:
//     // ANCHOR: name
//     ...
//     // ANCHOR_END: name
// A chapter includes a region by name, so a listing is always code that compiles.

public enum Region {
    /// The lines of region `name` in `source`, with every marker line inside it removed
    /// (nested regions' anchors, and exercise markers `// BEGIN SOLUTION` / `// END SOLUTION`)
    /// and the common indentation (spaces, or Go's tabs) taken off, and without trailing blank
    /// lines (gofmt puts one before a closing marker). nil when the region is missing or unterminated.
    public static func extract(_ name: String, from source: String) -> String? {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { marker(in: $0).map { $0 == ("ANCHOR", name) } ?? false }),
            let end = lines[start...].firstIndex(where: { marker(in: $0).map { $0 == ("ANCHOR_END", name) } ?? false })
        else { return nil }
        var body = lines[(start + 1)..<end].filter { marker(in: $0) == nil && !isSolutionMarker($0) }
        while body.last?.allSatisfy(\.isWhitespace) == true { body.removeLast() }
        let indent =
            body.filter { !$0.allSatisfy(\.isWhitespace) }
            .map { line in line.prefix(while: { $0 == " " || $0 == "\t" }).count }.min() ?? 0
        return body.map { line in line.allSatisfy(\.isWhitespace) ? "" : String(line.dropFirst(indent)) }
            .joined(separator: "\n")
    }

    /// Every region name defined in `source`.
    public static func names(in source: String) -> [String] {
        source.split(separator: "\n").compactMap { line in
            guard let (kind, name) = marker(in: String(line)), kind == "ANCHOR" else { return nil }
            return name
        }
    }

    /// `// ANCHOR: name` → ("ANCHOR", "name"); `// ANCHOR_END: name` → ("ANCHOR_END", "name").
    static func marker(in line: String) -> (String, String)? {
        let text = line.trimmingWhitespace()
        for kind in ["ANCHOR_END", "ANCHOR"] where text.hasPrefix("// \(kind):") {
            return (kind, String(text.dropFirst("// \(kind):".count)).trimmingWhitespace())
        }
        return nil
    }

    /// Exercise markers (see the grading tools) never appear in a chapter.
    public static func isSolutionMarker(_ line: String) -> Bool {
        let text = line.trimmingWhitespace()
        return text.hasPrefix("// BEGIN SOLUTION") || text.hasPrefix("// END SOLUTION")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
