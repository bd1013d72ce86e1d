// The book is rendered by well-kept programs, not by code of ours: Debian's `cmark-gfm`
// turns Markdown into HTML, and `highlight` colours the listings. This runs one of them
// with text on stdin and returns its stdout.
import Foundation

public struct ToolError: Error, CustomStringConvertible {
    public let description: String
}

enum ExternalTool {
    /// Runs `program` (found on PATH) with `arguments`, writes `input` to it, returns its output.
    static func run(_ program: String, _ arguments: [String], input: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read on separate threads: a long chapter would fill either pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var output = Data(), errors = Data()
        DispatchQueue.global().async(group: group) { output = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errors = stderr.fileHandleForReading.readDataToEndOfFile() }
        try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try? stdin.fileHandleForWriting.close()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 {
                throw ToolError(
                    description: "\(program) is not installed (`make book` installs it: apt-get install \(program))")
            }
            let last = String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init)
            throw ToolError(description: "\(program) failed: \(last ?? "exit status \(process.terminationStatus)")")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
