// Durations written the way Go writes them (`250ms`, `5s`, `1m30s`), because the labs'
// flags and output follow Go's: `time.ParseDuration` and `time.Duration.String`.

/// A duration string Go would reject. Prints like Go: `time: invalid duration "5"`.
public struct DurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension Duration {
    /// Parses `[-+]?([0-9]*(\.[0-9]*)?unit)+` with units ns, us (µs), ms, s, m, h; or a bare
    /// `0`. Go's algorithm, step for step: whole numbers in integers (so nothing is lost to
    /// floating point), a fraction truncated to the nanosecond, and int64's ±292 years.
    public init(go text: String) throws(DurationError) {
        func fail(_ why: String = "invalid duration") -> DurationError {
            DurationError(description: "time: \(why) \(Duration.quote(text))")
        }
        var rest = Array(text.utf8)[...]
        let negative = rest.first == UInt8(ascii: "-")
        if rest.first == UInt8(ascii: "-") || rest.first == UInt8(ascii: "+") { rest = rest.dropFirst() }
        if rest.elementsEqual("0".utf8) { self = .zero; return }
        if rest.isEmpty { throw fail() }
        let units: [String: UInt64] = [
            "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
            "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
        ]
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let limit: UInt64 = 1 << 63
        var total: UInt64 = 0
        while let first = rest.first {
            guard first == UInt8(ascii: ".") || isDigit(first) else { throw fail() }
            // The whole part: [0-9]*, overflow is an error.
            var whole: UInt64 = 0
            let wholeDigits = rest.prefix(while: isDigit)
            for digit in wholeDigits {
                let (times10, o1) = whole.multipliedReportingOverflow(by: 10)
                let (next, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
                guard !o1, !o2, next <= limit else { throw fail() }
                whole = next
            }
            rest = rest.dropFirst(wholeDigits.count)
            // The fraction: (\.[0-9]*)?, digits past what a UInt64 holds are dropped.
            var (fraction, scale, fractionDigits): (UInt64, Double, Int) = (0, 1, 0)
            if rest.first == UInt8(ascii: ".") {
                rest = rest.dropFirst()
                let digits = rest.prefix(while: isDigit)
                var overflowed = false
                for digit in digits where !overflowed {
                    let (times10, o1) = fraction.multipliedReportingOverflow(by: 10)
                    let (next, o2) = times10.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
                    if o1 || o2 || next > limit { overflowed = true } else { (fraction, scale) = (next, scale * 10) }
                }
                fractionDigits = digits.count
                rest = rest.dropFirst(digits.count)
            }
            guard !wholeDigits.isEmpty || fractionDigits > 0 else { throw fail() }  // "." or ".s"
            // The unit: everything up to the next digit or point.
            let unitBytes = rest.prefix(while: { $0 != UInt8(ascii: ".") && !isDigit($0) })
            guard !unitBytes.isEmpty else { throw fail("missing unit in duration") }
            rest = rest.dropFirst(unitBytes.count)
            let unitName = String(decoding: unitBytes, as: UTF8.self)
            guard let unit = units[unitName] else {
                throw DurationError(
                    description: "time: unknown unit \(Duration.quote(unitName)) in duration \(Duration.quote(text))")
            }
            // Every step is checked: `2^63ns2^63ns` would wrap a plain sum back to 0 (Go 1.19
            // accepts it as 0s that way; we refuse it) or trap in Swift.
            guard whole <= limit / unit else { throw fail() }
            var value = whole * unit
            if fraction > 0 {
                let part = UInt64(Double(fraction) * (Double(unit) / scale))  // truncated, as Go does
                let (sum, overflow) = value.addingReportingOverflow(part)
                guard !overflow, sum <= limit else { throw fail() }
                value = sum
            }
            let (sum, overflow) = total.addingReportingOverflow(value)
            guard !overflow, sum <= limit else { throw fail() }
            total = sum
        }
        guard negative || total < limit else { throw fail() }
        self = .nanoseconds(negative ? Int64(truncatingIfNeeded: 0 &- total) : Int64(total))
    }

    /// Go's `time.quote`: in quotes, with `"` and `\\` escaped and every byte that is not
    /// printable ASCII written `\xNN`, so an error stays one line whatever was typed.
    static func quote(_ text: String) -> String {
        var quoted = "\""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): quoted += "\\" + String(UnicodeScalar(byte))
            case 0x20..<0x80: quoted += String(UnicodeScalar(byte))
            default: quoted += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return quoted + "\""
    }

    /// The whole duration in nanoseconds (saturating past ±292 years).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
    }

    /// This duration rounded to a multiple of `unit`, halves away from zero (Go's `Round`).
    /// A result past ±292 years saturates, as in Go (the fuzzer found `Int64.max` trapping).
    public func rounded(to unit: Duration) -> Duration {
        let step = unit.nanoseconds
        guard step > 0 else { return self }
        let value = nanoseconds
        let remainder = value % step
        let down = value - remainder  // toward zero: never overflows
        // Go's lessThanHalf, in unsigned arithmetic so that doubling cannot overflow.
        guard remainder.magnitude + remainder.magnitude >= step.magnitude else { return .nanoseconds(down) }
        let (away, overflow) = value < 0 ? down.subtractingReportingOverflow(step) : down.addingReportingOverflow(step)
        return .nanoseconds(overflow ? (value < 0 ? .min : .max) : away)
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
