// What the reliability tests share: many clients at once, and what the kernel says about
// a lab process (its CPU time, its descriptors).
import Foundation
import Sockets

/// What one client of a hello server got: every byte until EOF, or the error that ended it
/// (a reset, a refusal, a timeout), with whatever had arrived before.
struct Fetched: Sendable {
    var bytes: [UInt8] = []
    var error: NetError?
    var isGreeting: Bool { error == nil && bytes == Array("Hello World!\r\n".utf8) }
    /// Refused before a byte: what a client may see from a server that is full or stopping.
    var isRefusedCleanly: Bool { bytes.isEmpty }
}

/// `count` clients at once, each on a thread of its own, each reading to EOF (10 s at most).
func fetchAtOnce(_ address: String, count: Int, readTimeout: Duration = .seconds(10)) async throws -> [Fetched] {
    try await onThread {
        let results = NSLock()
        nonisolated(unsafe) var fetched: [Fetched] = []
        let done = DispatchGroup()
        for _ in 0..<count {
            done.enter()
            Thread {
                var result = Fetched()
                do {
                    let connection = try dial("tcp", address, timeout: .seconds(10))
                    defer { connection.close() }
                    connection.setReadDeadline(.after(readTimeout))
                    var buffer = [UInt8](repeating: 0, count: 256)
                    while case let n = try connection.read(into: &buffer), n > 0 { result.bytes += buffer[..<n] }
                } catch {
                    result.error = error as? NetError
                }
                results.withLock { fetched.append(result) }
                done.leave()
            }.start()
        }
        done.wait()
        return results.withLock { fetched }
    }
}

/// User plus system CPU time of process `pid` so far (from /proc/PID/stat, in clock ticks).
func cpuTime(of pid: Int32) -> Duration {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return .zero }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    let ticks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)  // utime, stime: fields 14 and 15
    return .milliseconds(ticks * 1000 / sysconf(Int32(_SC_CLK_TCK)))
}

/// A user id no process on this machine runs as, so RLIMIT_NPROC counts only the lab's threads.
func unusedUserID() -> UInt32 {
    while true {
        let uid = UInt32.random(in: 60_000..<65_000)
        let running = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let taken = running.contains { pid in
            guard Int(pid) != nil, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            else { return false }
            return status.contains("Uid:\t\(uid)\t")
        }
        if !taken { return uid }
    }
}

/// Whether process `pid` holds a descriptor for the IPv4 TCP connection whose far end is
/// local port `clientPort`: it has accepted it (a connection still in the backlog has a
/// socket in the kernel, but no descriptor yet).
func hasAccepted(_ pid: Int32, clientPort: UInt16) -> Bool {
    // Read to the end: Foundation's String(contentsOfFile:) stops after the first page of a /proc file.
    let table = String(
        decoding: FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
    let wanted = ":" + String(format: "%04X", clientPort)
    let inodes = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
        let fields = line.split(separator: " ")
        guard fields.count > 9, fields[2].hasSuffix(wanted) else { return nil }
        return String(fields[9])
    }
    let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
    return descriptors.contains { fd in
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? ""
        return inodes.contains { target == "socket:[\($0)]" }
    }
}
