// What a process costs, as Linux reports it: threads and memory from /proc/PID/status,
// open descriptors from /proc/PID/fd. Chapter 11 compares servers with these numbers.
import Foundation

public struct ProcessUsage: Sendable {
    public let threads: Int
    public let descriptors: Int
    /// Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in bytes.
    public let residentBytes: Int
    public let peakResidentBytes: Int

    /// The usage of process `pid` (nil: this process), or nil if /proc cannot tell.
    public static func of(_ pid: Int32? = nil) -> ProcessUsage? {
        let directory = "/proc/" + (pid.map(String.init) ?? "self")
        guard let status = try? String(contentsOfFile: directory + "/status", encoding: .utf8),
            let fds = try? FileManager.default.contentsOfDirectory(atPath: directory + "/fd")
        else { return nil }
        func field(_ name: String) -> Int? {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Int($0) }
        }
        guard let threads = field("Threads"), let rss = field("VmRSS"), let peak = field("VmHWM") else { return nil }
        // Listing /proc/self/fd opens a descriptor of its own for the directory.
        let descriptors = fds.count - (pid == nil ? 1 : 0)
        return ProcessUsage(
            threads: threads, descriptors: descriptors, residentBytes: rss * 1024, peakResidentBytes: peak * 1024)
    }

    /// Bytes as MiB with one decimal: `12.3 MiB`.
    public static func mebibytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
