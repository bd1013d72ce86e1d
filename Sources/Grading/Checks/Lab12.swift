// Lab 12 `async-server`: the same clients as lab 11's (EventServerChecks), against a task
// per connection.

enum Lab12: GradedLab {
    static let grading = LabGrading(
        number: 12, executable: "async-server", chapter: "Chapters/12-async.md",
        hints: [
            "`handleConnection` owns its connection: `defer { connection.close() }` first. Set a write deadline, then "
                + "`try await connection.write(greeting)`: the task suspends if the socket cannot take it, never a thread.",
            "With --echo: a 4 KiB buffer, `while case let count = try await connection.read(into: &buffer), count > 0`, "
                + "and write back `buffer[..<count]` (a fresh write deadline each time). 0 is the client's FIN: done.",
            "Without --echo: `try connection.closeWrite()` (our FIN), a linger read deadline, then read until 0: the "
                + "client's FIN. Catch `CancellationError` silently (the server shutting down); `warn` anything else.",
        ],
        checks: [
            .helpPrintsUsage(),
            .usageError(["--listen", "nonsense"], mentioning: "--listen"),
            EventServerChecks.greetsClientsAtOnce(section: "A task per connection"),
            EventServerChecks.echoesThroughPartialWrites(section: "A task per connection"),
            EventServerChecks.stalledReaderDelaysNobody(section: "A task per connection"),
            .stopsOnSIGTERM(["--listen", "127.0.0.1:0"]),
        ])
}
