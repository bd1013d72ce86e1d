// Checks of the command-line contract every lab keeps (Chapters/README.md), for any lab's
// checks file to include with its own points.

extension Check {
    /// `--help` prints usage (with the word `usage:`) and exits 0.
    public static func helpPrintsUsage(points: Int = 1) -> Check {
        Check(
            "--help prints usage and exits 0", points: points, section: "The lab contract",
            chapter: "Chapters/README.md"
        ) { c in
            let run = try c.run(["--help"], within: .seconds(5))
            try c.expectExit(run, 0, "--help must exit 0")
            guard run.stdoutText.contains("usage:") else {
                throw CheckFailure("--help printed \(excerpt(run.stdout)); it should contain `usage:`")
            }
        }
    }

    /// A bad command line is one line on stderr that mentions `mentioning`, and exit 2.
    public static func usageError(_ arguments: [String], mentioning: String, points: Int = 1) -> Check {
        Check(
            "a bad command line (\(arguments.joined(separator: " "))) is a usage error: one line, exit 2",
            points: points, section: "The lab contract", chapter: "Chapters/README.md"
        ) { c in
            let run = try c.run(arguments, within: .seconds(5))
            try c.expectExit(run, 2, "a usage error must exit 2")
            let lines = run.stderr.split(separator: "\n")
            guard lines.count == 1, run.stderr.contains(mentioning) else {
                throw CheckFailure(
                    "stderr should be one line that mentions \(mentioning); it was \(excerpt(run.stderr))")
            }
        }
    }

    /// A server role started with `arguments` prints `listening on HOST:PORT`, then stops
    /// with exit 0 on SIGTERM.
    public static func stopsOnSIGTERM(_ arguments: [String], points: Int = 1) -> Check {
        stopsOnSIGTERM(points: points) { _ in arguments }
    }

    /// The same, for a command line made when the check runs (one naming certificate files).
    public static func stopsOnSIGTERM(
        points: Int = 1,
        _ arguments: @escaping @Sendable (CheckContext) throws -> [String]
    ) -> Check {
        Check(
            "a server role stops cleanly on SIGTERM (exit 0)", points: points, section: "The lab contract",
            chapter: "Chapters/README.md"
        ) { c in
            let lab = try c.start(arguments(c))
            _ = try c.listeningAddress(lab)
            c.pause(.milliseconds(200))
            c.note("grader: SIGTERM")
            lab.terminate()
            let run = c.finish(lab, within: .seconds(5))
            try c.expectExit(run, 0, "SIGTERM must stop a server role with exit status 0")
        }
    }
}
