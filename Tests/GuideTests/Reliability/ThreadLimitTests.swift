// Fault 3 of issue 10: under a thread limit, a connection whose thread could not start was
// never closed: the client hung and the server kept the descriptor for good (7 of 60
// clients answered, 6 descriptors became 59). Now the server closes it, logs one line, and
// pauses before accepting again. The limit is real: RLIMIT_NPROC, set by prlimit for a
// user id of the lab's own (root is exempt from the limit, hence setpriv).
import Foundation
import Testing

@Suite(.serialized) struct ThreadLimitTests {
    @Test(.enabled(if: getuid() == 0, "needs root, to run the lab as a user of its own (setpriv)"))
    func helloServerRefusesWhatItCannotServeAndKeepsNoDescriptor() async throws {
        let uid = unusedUserID()
        let asUser = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups"]
        // How many threads the server has once listening (main, the signal watcher, and a
        // sanitizer's own, if any): the limit leaves room for one connection at a time.
        let probe = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"], launcher: asUser)
        let status =
            (try? String(contentsOfFile: "/proc/\(probe.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let threads = try #require(
            status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
                .flatMap { Int($0.split(separator: "\t").last ?? "") })
        _ = try await probe.stop()
        let server = try await RunningLab(
            "hello-server", ["--listen", "127.0.0.1:0"],
            launcher: asUser + ["/usr/bin/prlimit", "--nproc=\(threads + 1)"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        let before = try await settledDescriptors(of: pid)
        let fetched = try await fetchAtOnce(address, count: 60)
        #expect(fetched.count == 60)
        let timedOut = fetched.filter { $0.error?.isTimeout == true }
        #expect(timedOut.isEmpty, "\(timedOut.count) clients hung until their read timeout")
        let partial = fetched.filter { !$0.isGreeting && !$0.isRefusedCleanly }
        #expect(partial.isEmpty, "cut short: \(partial.prefix(3))")
        let served = fetched.filter(\.isGreeting).count
        #expect(served > 0)
        #expect(try await settledDescriptors(of: pid, towards: before) == before, "descriptors leaked")
        // Once the burst is over, the next client is served as usual.
        #expect(try await fetchAtOnce(address, count: 1).first?.isGreeting == true)
        let stopped = try await server.stop()
        #expect(stopped.status == 0)
        let refusals = stopped.stderr.split(separator: "\n").filter {
            $0.contains("pthread_create: resource temporarily unavailable: connection closed")
        }
        #expect(served == 60 || !refusals.isEmpty, "no thread start failed? stderr: \(stopped.stderr.prefix(500))")
        #expect(refusals.count == 60 - served, "one line per refused connection")
    }
}
