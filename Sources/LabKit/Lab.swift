// The command-line contract every lab keeps (see Chapters/README.md): no arguments runs the
// demo; `--help` prints usage; a usage error is one line and exit 2; a network error is
// one Go-style line and exit 1; never a trap or a backtrace, whatever the input.
import Foundation
import Sockets

public struct Lab: Sendable {
    /// The executable's name, as in `make lab-N` and the chapters.
    public let name: String
    /// What `--help` prints: a one-line summary, then the usage lines.
    public let usage: String

    public init(name: String, usage: String) {
        self.name = name
        self.usage = usage
    }

    public enum Exit {
        public static let networkError: Int32 = 1
        public static let usageError: Int32 = 2
        /// The student's copy reached the stub of an exercise (see `exercise`).
        public static let exerciseNotDone: Int32 = 3
    }

    /// Runs the lab's `main` and turns every error into the contract's exit code.
    public func run(_ main: (inout Arguments) throws -> Void) -> Never {
        Signals.exitCleanlyOnTerminate()
        var arguments = Arguments(lab: name, CommandLine.arguments.dropFirst())
        if arguments.has("--help") || arguments.has("-h") {
            say(usage)
            exitOnce(0)
        }
        do {
            try main(&arguments)
            exitOnce(0)
        } catch let error as UsageError {
            fail("\(name): \(error.message) (see \(name) --help)", Exit.usageError)
        } catch {
            // NetError, LookupError, …: each prints as Go's one line.
            fail("\(error)", Exit.networkError)
        }
    }

    private func fail(_ line: String, _ code: Int32) -> Never {
        exitOnce(code, saying: line)
    }
}

/// Ends the process, once, after printing `line` to stderr. When SIGTERM arrives as the
/// main thread finishes (or fails because the exit handlers are already deleting its
/// files), two threads would call exit at once, which is undefined behaviour: both run
/// the exit handlers, and whichever reaches `_exit` first cuts the other short. The
/// second caller waits here, silently, until the first is done.
func exitOnce(_ code: Int32, saying line: String? = nil) -> Never {
    exitLock.lock()
    if let line { try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8)) }
    exit(code)
}

private let exitLock = NSLock()

/// A lab's narration: one line to stdout, written at once (no buffer to flush, so the
/// lines of a server and of a test reading it never wait in a pipe).
public func say(_ line: String) {
    writeRaw(Array((line + "\n").utf8))
}

/// A server's log line (a failed connection, an `accept` error): one line to stderr,
/// written at once, like Go's `log.Println`. The server carries on.
public func warn(_ line: String) {
    try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
}

/// Bytes to stdout exactly as they came: no decoding, no added newline.
public func writeRaw(_ bytes: [UInt8]) {
    try? FileHandle.standardOutput.write(contentsOf: Data(bytes))
}

/// Bytes shown as a Swift string literal, so `\r\n` and other invisible bytes are visible.
public func quoted(_ bytes: [UInt8]) -> String {
    var text = "\""
    for byte in bytes {
        switch byte {
        case 0x0A: text += "\\n"
        case 0x0D: text += "\\r"
        case 0x09: text += "\\t"
        case 0x22: text += "\\\""
        case 0x5C: text += "\\\\"
        case 0x20..<0x7F: text += String(UnicodeScalar(byte))
        default: text += "\\u{" + String(byte, radix: 16) + "}"
        }
    }
    return text + "\""
}

/// How long something took, rounded to 0.1 ms and written as Go writes it (`250.1ms`).
public func shown(_ duration: Duration) -> String {
    duration.rounded(to: .microseconds(100)).goDescription
}
