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
        Signals.install()
        var arguments = Arguments(lab: name, CommandLine.arguments.dropFirst())
        if arguments.has("--help") || arguments.has("-h") {
            say(usage)
            exitOnce(0)
        }
        do {
            try main(&arguments)
            if Signals.isStopping { Signals.waitForTheStop() }
            exitOnce(0)
        } catch _ where Signals.isStopping {
            Signals.waitForTheStop()  // the stop closed the listener: not an error to report
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

/// Bytes in quotes, as Go's `%q` writes them (`strconv.Quote`), so `\r\n` and every other
/// byte a terminal would act on is visible: see `escaped`.
public func quoted(_ bytes: [UInt8]) -> String {
    "\"" + escaped(bytes) + "\""
}

/// Bytes as text, escaped as inside Go's `%q`: printable characters as they are (UTF-8
/// decoded); `\"` and `\\`; `\n`, `\r`, `\t` and the other C escapes; any other control
/// byte, and each byte that is not valid UTF-8, as `\xNN`; any other character that is not
/// printable (a bidi override such as U+202E, a zero-width space) as `\uNNNN`. What a peer
/// sends then cannot move the cursor, recolour the terminal or reverse the line.
public func escaped(_ bytes: [UInt8]) -> String {
    var text = ""
    var index = 0
    while index < bytes.count {
        guard let (scalar, length) = decodeUTF8(bytes, at: index) else {
            text += "\\x" + hex(UInt32(bytes[index]), width: 2)
            index += 1
            continue
        }
        index += length
        switch scalar.value {
        case 0x22: text += "\\\""
        case 0x5C: text += "\\\\"
        case 0x07: text += "\\a"
        case 0x08: text += "\\b"
        case 0x0C: text += "\\f"
        case 0x0A: text += "\\n"
        case 0x0D: text += "\\r"
        case 0x09: text += "\\t"
        case 0x0B: text += "\\v"
        case 0..<0x20, 0x7F: text += "\\x" + hex(scalar.value, width: 2)
        case _ where isPrintable(scalar): text.unicodeScalars.append(scalar)
        case 0..<0x10000: text += "\\u" + hex(scalar.value, width: 4)
        default: text += "\\U" + hex(scalar.value, width: 8)
        }
    }
    return text
}

/// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols, and the ASCII space.
private func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == " " { return true }
    switch scalar.properties.generalCategory {
    case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .surrogate, .privateUse,
        .unassigned:
        return false
    default:
        return true
    }
}

/// The character encoded at `bytes[start...]`, and its length; nil if the byte there does
/// not begin a valid UTF-8 sequence (overlong forms and surrogates are invalid, as in Go).
private func decodeUTF8(_ bytes: [UInt8], at start: Int) -> (Unicode.Scalar, Int)? {
    let lead = bytes[start]
    let (length, initial, minimum): (Int, UInt32, UInt32) =
        switch lead {
        case 0x00..<0x80: (1, UInt32(lead), 0)
        case 0xC2..<0xE0: (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0..<0xF0: (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0..<0xF5: (4, UInt32(lead & 0x07), 0x10000)
        default: (0, 0, 0)
        }
    guard length > 0, start + length <= bytes.count else { return nil }
    var value = initial
    for byte in bytes[start + 1..<start + length] {
        guard byte & 0xC0 == 0x80 else { return nil }
        value = value << 6 | UInt32(byte & 0x3F)
    }
    guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }  // nil: a surrogate
    return (scalar, length)
}

private func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

/// How long something took, rounded to 0.1 ms and written as Go writes it (`250.1ms`).
public func shown(_ duration: Duration) -> String {
    duration.rounded(to: .microseconds(100)).goDescription
}
