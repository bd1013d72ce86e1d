// Lab 11 `event-loop`: the demo's comparison with a thread per connection, and running out
// of descriptors without spinning. (What it shares with lab 12 is in EventServers.swift.)
import Foundation
import Sockets
import Testing

@Suite struct Lab11EventLoop {
    @Test func demoHoldsTheConnectionsOnOneThreadBesideAThreadEach() async throws {
        let run = try await runLab("event-loop")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.isEmpty)
        let lines = run.stdoutLines
        #expect(lines.first?.hasPrefix("descriptor limit (RLIMIT_NOFILE): soft limit raised from ") == true)
        let held = lines.compactMap { $0.firstMatch(of: /^  ([0-9]+) connections open, each greeted and echoed$/) }
        let threads = lines.compactMap { $0.firstMatch(of: /^  threads: [0-9]+ -> [0-9]+ \(\+([0-9]+)\)$/) }
        let left = lines.compactMap { $0.firstMatch(of: /^  clients closed: ([0-9]+) connections left open$/) }
        try #require(held.count == 2 && threads.count == 2 && left.count == 2, "\(lines)")
        let connections = Int(held[0].1)!
        #expect(connections >= 1000 && Int(held[1].1) == connections)
        // The event loop: one thread more (the loop's); a thread per connection: one each.
        #expect(Int(threads[0].1) == 1, "\(lines)")
        #expect(Int(threads[1].1)! >= connections, "\(lines)")
        #expect(left.allSatisfy { $0.1 == "0" }, "every connection closed once the clients left: \(lines)")
    }

    @Test func runningOutOfDescriptorsIsWaitedOutWithoutSpinning() async throws {
        let server = try await RunningLab("event-loop", ["--listen", "127.0.0.1:0"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        #expect(try await onThread { try fetchAll(from: address) } == helloBytes)
        // The listener stays readable while accept() fails with EMFILE: level-triggered
        // epoll would report it in every wait, a loop spinning at full speed.
        let lowered = ContinuousClock.now
        let originalLimit = try await setDescriptorLimit(of: pid, to: "3")
        let waiting = try await onThread { try (0..<2).map { _ in try dial("tcp", address, timeout: .seconds(5)) } }
        await pause(.milliseconds(1500))
        let cpu = try cpuSeconds(of: pid)
        await pause(.milliseconds(500))
        #expect(try cpuSeconds(of: pid) - cpu < 0.25, "the server should sleep between tries, not spin")
        _ = try await setDescriptorLimit(of: pid, to: originalLimit)
        let short = ContinuousClock.now - lowered
        let greetings = try await onThread { try readEachToEnd(waiting) }
        #expect(greetings == [helloBytes, helloBytes])
        let result = try await server.stop()
        #expect(result.status == 0)
        let emfile = result.stderr.split(separator: "\n").filter {
            $0.contains(": accept: too many open files; retrying in ")
        }
        // 5 ms doubling to 1 s: about nine tries in the first 1.5 s, then one a second. Spinning
        // would have made thousands.
        let allowed = 10 + Int(short.components.seconds)
        #expect(
            emfile.count >= 1 && emfile.count <= allowed,
            "\(emfile.count) EMFILE lines in \(short) (at most \(allowed)): \(emfile.prefix(3))")
    }
}

/// User plus system CPU time of process `pid`, in seconds (/proc/PID/stat, clock ticks).
func cpuSeconds(of pid: Int32) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
    let ticks = Double(fields[11])! + Double(fields[12])!  // utime, stime: fields 14 and 15
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
}
