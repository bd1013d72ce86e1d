// Fault 1 of issue 10: a duration whose parts each fit in int64 but whose sum does not
// trapped the running total. Every lab with a duration flag must answer as a usage error,
// one line in Go's words, never a trap.
import Sockets
import Testing

@Suite struct DurationOverflowTests {
    /// Each part fits (2^63 is allowed for a negative duration), the sum does not.
    static let overflowing = [
        "9223372036854775808ns9223372036854775808ns",
        "2562047h2562047h",
        "9223372036854775807ns1ns",
        "1.5h9223372036s",
        "-9223372036854775808ns1ns",
    ]

    @Test(arguments: overflowing)
    func aSumPastInt64IsAnInvalidDuration(text: String) {
        #expect { try Duration(go: text) } throws: {
            ($0 as? DurationError)?.description == "time: invalid duration \"\(text)\""
        }
    }

    /// A finding of `make fuzz` (Fuzz/duration): rounding the largest duration trapped.
    /// Go saturates: `time.Duration(math.MaxInt64).Round(100 * time.Microsecond)` is the maximum.
    @Test func roundingNearTheLimitsSaturates() {
        let largest = Duration.nanoseconds(Int64.max), smallest = Duration.nanoseconds(Int64.min)
        #expect(largest.rounded(to: .microseconds(100)) == largest)
        #expect(smallest.rounded(to: .microseconds(100)) == smallest)
        #expect(largest.rounded(to: .nanoseconds(Int64.max)) == largest)
        #expect(
            Duration.nanoseconds(Int64.max - 10).rounded(to: .nanoseconds(Int64.max / 2)) == .nanoseconds(Int64.max - 1)
        )
        #expect(Duration.nanoseconds(-150).rounded(to: .nanoseconds(100)) == .nanoseconds(-200))
        #expect(Duration.nanoseconds(149).rounded(to: .nanoseconds(100)) == .nanoseconds(100))
    }

    @Test(arguments: [
        ("nonblocking-recvfrom", ["--listen", "127.0.0.1:0", "--timeout"]),
        ("lookup-host", ["--server", "127.0.0.1:53", "--timeout"]),
        ("tls-server", ["--handshake-timeout"]),
        ("dial-timeout", ["--dial", "127.0.0.1:1", "--timeout"]),
        ("dial-timeout", ["--dial", "127.0.0.1:1", "--read-timeout"]),
        ("tls-client", ["--dial", "127.0.0.1:1", "--timeout"]),
    ])
    func everyLabRefusesItAsAUsageError(lab: String, arguments: [String]) async throws {
        let text = Self.overflowing[0]
        let run = try await runLab(lab, arguments + [text])
        #expect(run.status == 2, "\(lab): \(run.stderr)")
        #expect(run.stderr.contains("time: invalid duration \"\(text)\""), "\(lab): \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line, no backtrace: \(run.stderr)")
    }
}
