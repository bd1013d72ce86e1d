// Matching a transcript against a real run. A transcript line is literal text, except:
//   {PORT} {N}   a whole number           {DURATION}  a Go duration (`300.5ms`, `0s`, `1m2s`)
//   {ADDR}       host:port, IPv4 or [IPv6]  {ANY}       anything on the rest of this part
// and a line holding only `...` stands for any number of lines (none included).

public enum Transcript {
    static let placeholders: [(String, String)] = [
        ("{PORT}", "[0-9]+"),
        ("{N}", "[0-9]+"),
        ("{DURATION}", "-?([0-9]+(\\.[0-9]+)?(ns|µs|ms|s|m|h))+"),
        ("{ADDR}", "([0-9.]+|\\[[0-9a-fA-F:.]+\\]):[0-9]+"),
        ("{ANY}", ".*"),
    ]

    /// Where the expected lines and the actual output part ways, or nil when they match.
    /// The result names the first expected line that could not be matched.
    public static func mismatch(expected: [String], actual: [String]) -> (
        expectedLine: Int, wanted: String, got: String
    )? {
        let patterns = expected.map { $0 == "..." ? nil : regex(for: $0) }
        // Longest-prefix bookkeeping for a useful message.
        var best = (expectedIndex: 0, actualIndex: 0)
        func match(_ e: Int, _ a: Int) -> Bool {
            if e > best.expectedIndex || (e == best.expectedIndex && a > best.actualIndex) { best = (e, a) }
            if e == patterns.count { return a == actual.count }
            guard let pattern = patterns[e] else {
                // `...`: try taking no lines, then one more each time.
                return (a...actual.count).contains { match(e + 1, $0) }
            }
            return a < actual.count && actual[a].wholeMatch(of: pattern) != nil && match(e + 1, a + 1)
        }
        if match(0, 0) { return nil }
        let wanted = best.expectedIndex < expected.count ? expected[best.expectedIndex] : "(end of output)"
        let got = best.actualIndex < actual.count ? actual[best.actualIndex] : "(end of output)"
        return (best.expectedIndex, wanted, got)
    }

    /// A transcript line as a regular expression: placeholders become patterns, the rest is literal.
    static func regex(for line: String) -> Regex<AnyRegexOutput> {
        var pattern = ""
        var rest = Substring(line)
        outer: while !rest.isEmpty {
            for (name, replacement) in placeholders where rest.hasPrefix(name) {
                pattern += replacement
                rest = rest.dropFirst(name.count)
                continue outer
            }
            pattern += escape(rest.first!)
            rest = rest.dropFirst()
        }
        // Built only from escaped literals and our own fixed patterns: it always compiles.
        return try! Regex(pattern)
    }

    static func escape(_ character: Character) -> String {
        "\\^$.|?*+()[]{}/".contains(character) ? "\\" + String(character) : String(character)
    }
}
