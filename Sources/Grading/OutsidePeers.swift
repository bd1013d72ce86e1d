// Peers we did not write, for the TLS labs' checks: `openssl s_client` and `s_server`, and
// Python's ssl module, run as processes on loopback and killed when the check ends. And
// the certificates they use, made at grading time with the `openssl` command (TestPKI),
// once per run, deleted when the run exits: nothing secret is ever committed.
import Foundation
import TestPKI

extension CheckContext {
    /// Runs an outside program (`openssl …`, `python3 …`, found on PATH) as the check's
    /// peer; it is killed when the check ends. `shown` is how the trace writes the command
    /// (a Python script is summed up, not printed); `input` is its stdin, held open.
    public func program(_ words: [String], shown: String? = nil, input: String? = nil) throws -> LabProcess {
        note("peer: $ " + (shown ?? words.map(shellWord).joined(separator: " ")))
        let process = try LabProcess(
            URL(fileURLWithPath: "/usr/bin/env"), words, limit: deadline - .now + .milliseconds(500),
            input: input.map { Array($0.utf8) })
        onCleanup { process.kill() }
        return process
    }

    /// Runs `script` with `python3 -c`, its `arguments` in `sys.argv[1...]`.
    public func python(_ script: String, _ arguments: [String], shown: String) throws -> LabProcess {
        try program(["python3", "-c", script] + arguments, shown: shown)
    }

    /// The first line of `process`'s output that starts with `prefix`, waiting for it
    /// until `within` has passed (or the check's deadline). nil: it never came.
    public func line(of process: LabProcess, startingWith prefix: String, within: Duration = .seconds(10)) -> String? {
        let until = min(.now + within, deadline)
        var index = 0
        while let line = process.line(index, until: until) {
            if line.hasPrefix(prefix) { return line }
            index += 1
        }
        return nil
    }

    /// The certificates the TLS checks use (made on first use, shared by every check).
    public func certificates() throws -> CheckCertificates {
        do { return try CertificateSet.shared() } catch {
            throw CheckError("could not make the test certificates: \(error)")
        }
    }
}

/// The last line of a program's stderr, for a trace.
func lastLine(_ text: String) -> String {
    text.split(separator: "\n").last.map { String($0) } ?? "nothing on stderr"
}

extension Finished {
    /// `summary`, for a peer: `exit 1 after 0.012s; "…"` with the last line of its stderr only.
    var briefly: String {
        let ending =
            killed ? "still running after \(seconds(duration)): killed" : "exit \(status) after \(seconds(duration))"
        return stderr.isEmpty ? ending : "\(ending); \(excerpt(lastLine(stderr)))"
    }
}

/// The grader's certificates: the same set the TLS tests use (see `CertificateSet`).
public typealias CheckCertificates = CertificateSet
