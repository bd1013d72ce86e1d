// Flags as the labs take them: `--dial 127.0.0.1:8080`, `--count=3`, `--timeout 5s`.
// Each getter removes what it read; `finish()` then rejects anything left over.
import Sockets

/// A bad command line. The lab prints it as one line and exits 2.
public struct UsageError: Error {
    public let message: String
    public init(_ message: String) { self.message = message }
}

public struct Arguments {
    private let lab: String
    private var words: [String]

    public init(lab: String, _ words: some Sequence<String>) {
        self.lab = lab
        self.words = Array(words)
    }

    /// True when no arguments were given: the lab runs its demo.
    public var isEmpty: Bool { words.isEmpty }

    public func has(_ flag: String) -> Bool {
        words.contains { $0 == flag || $0.hasPrefix(flag + "=") }
    }

    /// Removes `--flag`; true if it was there.
    public mutating func flag(_ flag: String) -> Bool {
        guard let index = words.firstIndex(of: flag) else { return false }
        words.remove(at: index)
        return true
    }

    /// Removes `--flag VALUE` or `--flag=VALUE` and returns the value.
    public mutating func value(_ flag: String) throws(UsageError) -> String? {
        if let index = words.firstIndex(where: { $0.hasPrefix(flag + "=") }) {
            return String(words.remove(at: index).dropFirst(flag.count + 1))
        }
        guard let index = words.firstIndex(of: flag) else { return nil }
        guard index + 1 < words.count else { throw UsageError("\(flag) needs a value") }
        let value = words[index + 1]
        words.removeSubrange(index...index + 1)
        return value
    }

    public mutating func required(_ flag: String) throws(UsageError) -> String {
        guard let value = try value(flag) else { throw UsageError("\(flag) is required") }
        return value
    }

    /// A `host:port`, checked for shape here so a typo is a usage error, not a network one.
    public mutating func address(_ flag: String) throws(UsageError) -> String? {
        guard let text = try value(flag) else { return nil }
        do { _ = try Address.split(text) } catch { throw UsageError("\(flag): \(error)") }
        return text
    }

    /// A Go duration (`250ms`, `5s`, `1m30s`).
    public mutating func duration(_ flag: String) throws(UsageError) -> Duration? {
        guard let text = try value(flag) else { return nil }
        do { return try Duration(go: text) } catch { throw UsageError("\(flag): \(error)") }
    }

    /// A whole number of at least `minimum`.
    public mutating func count(_ flag: String, minimum: Int = 1) throws(UsageError) -> Int? {
        guard let text = try value(flag) else { return nil }
        guard let number = Int(text), number >= minimum else {
            throw UsageError("\(flag): want a whole number of at least \(minimum), got \"\(text)\"")
        }
        return number
    }

    /// Removes and returns the words that are not flags.
    public mutating func positionals() -> [String] {
        let found = words.filter { !$0.hasPrefix("-") || $0 == "-" }
        words.removeAll { !$0.hasPrefix("-") || $0 == "-" }
        return found
    }

    /// Call after reading every flag: anything left is a mistake.
    public func finish() throws(UsageError) {
        if let extra = words.first {
            throw UsageError(extra.hasPrefix("-") ? "unknown flag \(extra)" : "unexpected argument \"\(extra)\"")
        }
    }
}
