import Sockets
import Testing

@Suite struct DurationTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)),
        ("5s", .seconds(5)),
        ("1m30s", .seconds(90)),
        ("1.5h", .seconds(5400)),
        ("-2s", .seconds(-2)),
        ("+3ms", .milliseconds(3)),
        ("0", .zero),
        ("10us", .microseconds(10)),
        ("10µs", .microseconds(10)),
        ("7ns", .nanoseconds(7)),
        (".5s", .milliseconds(500)),
        ("1h2m3s4ms", .milliseconds(3_723_004)),
        ("0.5ns", .zero),  // Go truncates a fraction to the nanosecond
        ("1.0000000009s", .nanoseconds(1_000_000_000)),
        ("2562047h47m16.854775807s", .nanoseconds(Int64.max)),  // Go's largest, exactly
        ("-2562047h47m16.854775808s", .nanoseconds(Int64.min)),
    ])
    func parsesGoDurations(text: String, expected: Duration) throws {
        #expect(try Duration(go: text) == expected)
    }

    @Test(arguments: [
        ("", "time: invalid duration \"\""),
        ("5", "time: missing unit in duration \"5\""),
        ("5x", "time: unknown unit \"x\" in duration \"5x\""),
        ("s", "time: invalid duration \"s\""),
        ("1..5s", "time: missing unit in duration \"1..5s\""),
        (".s", "time: invalid duration \".s\""),
        ("5\nx", "time: unknown unit \"\\x0ax\" in duration \"5\\x0ax\""),  // one line, whatever was typed
        ("1µx", "time: unknown unit \"\\xc2\\xb5x\" in duration \"1\\xc2\\xb5x\""),
        ("2562047h47m16.854775808s", "time: invalid duration \"2562047h47m16.854775808s\""),
        ("-", "time: invalid duration \"-\""),
        ("3000000h", "time: invalid duration \"3000000h\""),
    ])
    func rejectsWhatGoRejects(text: String, message: String) {
        #expect { try Duration(go: text) } throws: { ($0 as? DurationError)?.description == message }
    }

    @Test(arguments: [
        (Duration.zero, "0s"),
        (.nanoseconds(1500), "1.5µs"),
        (.milliseconds(250), "250ms"),
        (.microseconds(300_512), "300.512ms"),
        (.seconds(90), "1m30s"),
        (.milliseconds(7_200_500), "2h0m0.5s"),
        (.seconds(-5), "-5s"),
        (.nanoseconds(999), "999ns"),
    ])
    func printsLikeGo(duration: Duration, text: String) {
        #expect(duration.goDescription == text)
    }

    @Test func roundsHalvesAwayFromZero() {
        #expect(Duration.microseconds(300_550).rounded(to: .microseconds(100)) == .microseconds(300_600))
        #expect(Duration.microseconds(300_549).rounded(to: .microseconds(100)) == .microseconds(300_500))
    }
}
