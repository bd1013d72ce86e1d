// Durations written the way Go writes them (`250ms`, `5s`, `1m30s`), because the labs'
// flags and output follow Go's: `time.ParseDuration` and `time.Duration.String`.

/// A duration string Go would reject. Prints like Go: `time: invalid duration "5"`.
public struct DurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension Duration {
    /// Parses `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units ns, us (µs), ms, s, m, h; or a bare `0`.
    public init(go text: String) throws(DurationError) {
        func fail(_ why: String = "invalid duration") -> DurationError {
            DurationError(description: "time: \(why) \"\(text)\"")
        }
        var rest = Substring(text)
        var negative = false
        if let sign = rest.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        if rest == "0" { self = .zero; return }
        if rest.isEmpty { throw fail() }
        let units: [(String, Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("μs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var nanoseconds = 0.0
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isASCII && ($0.isNumber || $0 == ".") })
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1,
                  let value = Double(number.hasPrefix(".") ? "0" + number : String(number)) else { throw fail() }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { !($0.isASCII && ($0.isNumber || $0 == ".")) })
            if unit.isEmpty { throw fail("missing unit in duration") }
            guard let scale = units.first(where: { $0.0 == unit })?.1 else {
                throw DurationError(description: "time: unknown unit \"\(unit)\" in duration \"\(text)\"")
            }
            rest = rest.dropFirst(unit.count)
            nanoseconds += value * scale
        }
        // Go's limit: an int64 of nanoseconds, about 292 years.
        guard nanoseconds < 9.223372036854775e18 else { throw fail() }
        let whole = Int64(nanoseconds.rounded())
        self = .nanoseconds(negative ? -whole : whole)
    }

    /// The whole duration in nanoseconds (saturating past ±292 years).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// This duration rounded to a multiple of `unit`, halves away from zero (Go's `Round`).
    public func rounded(to unit: Duration) -> Duration {
        let step = unit.nanoseconds
        guard step > 0 else { return self }
        let value = nanoseconds
        let remainder = value % step
        let down = value - remainder
        if abs(remainder) * 2 >= step { return .nanoseconds(down + (value < 0 ? -step : step)) }
        return .nanoseconds(down)
    }

    /// Go's `Duration.String`: `0s`, `1.5µs`, `250ms`, `1m30s`, `2h0m0.5s`.
    public var goDescription: String {
        let total = nanoseconds
        let sign = total < 0 ? "-" : ""
        let magnitude = total.magnitude
        if magnitude == 0 { return "0s" }
        if magnitude < 1_000_000_000 {
            let (digits, unit): (Int, String) =
                magnitude < 1_000 ? (0, "ns") : magnitude < 1_000_000 ? (3, "µs") : (6, "ms")
            return sign + Self.decimal(magnitude, fractionDigits: digits) + unit
        }
        let seconds = magnitude / 1_000_000_000
        let fraction = Self.decimal(magnitude % 60_000_000_000, fractionDigits: 9) + "s"
        let (hours, minutes) = (seconds / 3600, seconds / 60 % 60)
        if hours > 0 { return "\(sign)\(hours)h\(minutes)m\(fraction)" }
        if minutes > 0 { return "\(sign)\(minutes)m\(fraction)" }
        return sign + fraction
    }

    /// `value / 10^digits` printed without trailing zeros (and without a lone point).
    private static func decimal(_ value: UInt64, fractionDigits digits: Int) -> String {
        guard digits > 0 else { return String(value) }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let fraction = String(value % scale)
        let padded = String(repeating: "0", count: digits - fraction.count) + fraction
        let trimmed = String(padded.reversed().drop(while: { $0 == "0" }).reversed())
        return String(value / scale) + (trimmed.isEmpty ? "" : "." + trimmed)
    }
}
