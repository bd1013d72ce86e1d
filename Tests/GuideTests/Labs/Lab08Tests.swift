// Lab 8 `dial-timeout`: a connect that really hangs (a full accept queue) ends on time; a
// refused port fails at once; read deadlines; Go's rules for zero, negative and huge
// durations; and the Dialer trying several addresses within one timeout.
import Foundation
import Literate
import Sockets
import Testing

/// Runs the lab to the end and says how long it took.
func timedRun(_ lab: String, _ arguments: [String]) async throws -> (run: Literate.LabRun, took: Duration) {
    let start = ContinuousClock.now
    let run = try await runLab(lab, arguments)
    return (run, ContinuousClock.now - start)
}

/// The lab's `--full-queue` role: a listener on `host` whose accept queue is full, so
/// that a connect to it hangs. Stopped with SIGTERM at the end of `body`.
func withFullQueue<T>(_ host: String = "127.0.0.1", _ body: (String) async throws -> T) async throws -> T {
    let lab = try await RunningLab("dial-timeout", ["--full-queue", host.contains(":") ? "[\(host)]:0" : "\(host):0"])
    let address = try await lab.address
    let result = try await body(address)
    let stopped = try await lab.stop()
    #expect(stopped.status == 0, "the --full-queue role should stop on SIGTERM with status 0")
    return result
}

@Suite struct Lab08DialTimeout {
    @Test func demoTimesOutRefusesReadsAndHitsTheReadDeadline() async throws {
        let run = try await runLab("dial-timeout")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let out = run.stdoutLines
        func took(_ line: String?) throws -> Duration {
            let text = try #require(line?.firstMatch(of: /, after (.+)$/)?.1, "no time in \(line ?? "nil")")
            return try Duration(go: String(text))
        }
        let dialTimeout = out.first { $0.hasPrefix("  dial tcp 127.0.0.1:") && $0.contains(": i/o timeout, after ") }
        let waited = try took(dialTimeout)
        #expect(waited >= .milliseconds(280) && waited < .seconds(3), "asked 300ms, waited \(waited)")
        #expect(out.contains { $0.contains(": connect: connection refused, after ") })
        #expect(out.contains(#"  read 14 bytes: "Hello World!\r\n""#))
        let readTimeout = out.first { $0.hasPrefix("  read tcp 127.0.0.1:") && $0.contains(": i/o timeout, after ") }
        let readWaited = try took(readTimeout)
        #expect(
            readWaited >= .milliseconds(280) && readWaited < .seconds(3), "read deadline 300ms, waited \(readWaited)")
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func aConnectThatHangsTimesOutOnTime(host: String) async throws {
        try await withFullQueue(host) { address in
            let (run, took) = try await timedRun("dial-timeout", ["--dial", address, "--timeout", "300ms"])
            expectNetworkError(run, "dial tcp \(address): i/o timeout")
            #expect(took >= .milliseconds(280) && took < .seconds(3), "asked 300ms, took \(took)")
        }
    }

    @Test func anOutsideClientHangsOnTheFullQueueToo() async throws {
        try await withFullQueue { address in
            let port = address.split(separator: ":").last!
            let python = try PythonPeer(
                """
                import socket
                try:
                    socket.create_connection(("127.0.0.1", \(port)), timeout=0.3)
                    print("connected", flush=True)
                except TimeoutError:
                    print("timed out", flush=True)
                """)
            #expect(try await python.firstLine() == "timed out")
            await python.stop()
        }
    }

    @Test func aRefusedPortFailsAtOnce() async throws {
        let port = try closedPort()
        let (run, took) = try await timedRun("dial-timeout", ["--dial", "127.0.0.1:\(port)", "--timeout", "10s"])
        expectNetworkError(run, "dial tcp 127.0.0.1:\(port): connect: connection refused")
        #expect(took < .seconds(5), "a refusal should not wait for the 10s timeout: took \(took)")
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func aSuccessfulDialCopiesEveryByte(host: String) async throws {
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let server = try OneShotServer(bytes, host: host)
        let raw = try await rawOutput(
            "dial-timeout", ["--dial", server.address, "--timeout", "2s", "--read-timeout", "5s"])
        await server.finish()
        #expect(raw == bytes)
    }

    @Test func anOutsideServerWorksAndItsSilenceHitsTheReadDeadline() async throws {
        // Python sends some bytes, then says nothing until the client hangs up.
        let python = try PythonPeer(
            """
            import socket
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print(s.getsockname()[1], flush=True)
            c, _ = s.accept(); c.sendall(b"from python\\r\\n"); c.settimeout(10); c.recv(1)
            """)
        let port = try await python.firstLine()
        let (run, took) = try await timedRun(
            "dial-timeout",
            ["--dial", "127.0.0.1:\(port)", "--timeout", "2s", "--read-timeout", "300ms"])
        await python.stop()
        #expect(run.stdout == "from python\r\n", "bytes before the silence are copied")
        #expect(run.status == 1)
        #expect(
            run.stderr.wholeMatch(of: /read tcp 127\.0\.0\.1:[0-9]+->127\.0\.0\.1:[0-9]+: i\/o timeout\n/) != nil,
            "\(run.stderr)")
        #expect(run.stderr.contains("->127.0.0.1:\(port): "))
        #expect(took >= .milliseconds(280) && took < .seconds(5), "read timeout 300ms, took \(took)")
    }

    @Test func aReadDeadlineOnASilentPeer() async throws {
        // The kernel completes the handshake for a listener that never accepts: the dial
        // succeeds, and nothing will ever be sent.
        let silent = try Listener("tcp", "127.0.0.1:0")
        defer { silent.close() }
        let (run, took) = try await timedRun(
            "dial-timeout",
            ["--dial", silent.address.description, "--timeout", "1s", "--read-timeout", "300ms"])
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty)
        #expect(
            run.stderr.hasPrefix("read tcp 127.0.0.1:") && run.stderr.hasSuffix("->\(silent.address): i/o timeout\n"),
            "\(run.stderr)")
        #expect(took >= .milliseconds(280) && took < .seconds(5), "read timeout 300ms, took \(took)")
    }

    // MARK: Zero, negative and huge durations, as Go treats them

    @Test func zeroMeansNoTimeoutAtAll() async throws {
        let server = try OneShotServer(helloBytes)
        #expect(
            try await rawOutput("dial-timeout", ["--dial", server.address, "--timeout", "0", "--read-timeout", "0"])
                == helloBytes)
        await server.finish()
        // On a connect that hangs, zero means waiting: still waiting after a second.
        try await withFullQueue { address in
            let process = Process()
            process.executableURL = Paths.lab("dial-timeout")
            process.arguments = ["--dial", address, "--timeout", "0"]
            process.standardError = FileHandle.nullDevice
            try process.run()
            await pause(.seconds(1))
            #expect(process.isRunning, "--timeout 0 gave up: it should mean no timeout")
            process.terminate()
            _ = try? await onThread { process.waitUntilExit() }
        }
    }

    @Test func aNegativeTimeoutHasAlreadyExpired() async throws {
        // Even to a live server: Go fails the dial before it starts.
        let live = try Listener("tcp", "127.0.0.1:0")
        defer { live.close() }
        let (run, took) = try await timedRun("dial-timeout", ["--dial", live.address.description, "--timeout", "-1s"])
        expectNetworkError(run, "dial tcp \(live.address): i/o timeout")
        #expect(took < .seconds(5))
        // A read deadline already past fails the read even though the bytes are waiting.
        let server = try OneShotServer(helloBytes)
        let read = try await runLab(
            "dial-timeout", ["--dial", server.address, "--timeout", "2s", "--read-timeout", "-1ms"])
        await server.finish()
        #expect(read.status == 1)
        #expect(read.stdout.isEmpty)
        #expect(read.stderr.hasSuffix("->\(server.address): i/o timeout\n"), "\(read.stderr)")
    }

    @Test func aHugeTimeoutIsAcceptedUpToGosLimit() async throws {
        let server = try OneShotServer(helloBytes)
        #expect(try await rawOutput("dial-timeout", ["--dial", server.address, "--timeout", "2000000h"]) == helloBytes)
        await server.finish()
        // Past about 292 years, Go's time.ParseDuration refuses, and so do we.
        expectUsageError(
            try await runLab("dial-timeout", ["--dial", "127.0.0.1:1", "--timeout", "3000000h"]),
            mentioning: #"time: invalid duration "3000000h""#)
    }

    @Test(arguments: [
        (["--dial", "127.0.0.1:1"], "--timeout"),
        (["--dial", "127.0.0.1:1", "--timeout", "5"], "--timeout"),
        (["--dial", "127.0.0.1:1", "--timeout"], "--timeout"),
        (["--dial", "127.0.0.1:1", "--timeout", "1s", "--read-timeout", "soon"], "--read-timeout"),
        (["--timeout", "1s"], "--timeout"),
        (["--dial", "nonsense", "--timeout", "1s"], "--dial"),
        (["--full-queue", "127.0.0.1:0", "--dial", "127.0.0.1:1"], "--full-queue"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], flag: String) async throws {
        expectUsageError(try await runLab("dial-timeout", arguments), mentioning: flag)
    }

    // MARK: The module's Dialer: several addresses, one timeout

    @Test func aDeadAddressFirstThenALiveOneSucceedsWithinTheTimeout() async throws {
        let live = try Listener("tcp", "127.0.0.1:0")
        defer { live.close() }
        try await withFullQueue { hanging in
            let addresses = [try Address(hanging), live.address]
            let start = ContinuousClock.now
            let connection = try await onThread { try Dialer(timeout: .seconds(3)).dial("tcp", addresses: addresses) }
            let took = ContinuousClock.now - start
            connection.close()
            #expect(connection.remoteAddress == live.address)
            // Go's partialDeadline: the first of two addresses gets half of 3 s, but at least
            // 2 s; the second connects at once with the time that is left.
            #expect(took >= .milliseconds(1900) && took < .milliseconds(3500), "took \(took)")
        }
    }

    @Test func aRefusedAddressFirstThenALiveOneSucceedsAtOnce() async throws {
        let live = try Listener("tcp", "[::1]:0")
        defer { live.close() }
        let refused = Address(ip: .loopbackV4, port: try closedPort())
        let start = ContinuousClock.now
        let connection = try await onThread {
            try Dialer(timeout: .seconds(5)).dial("tcp", addresses: [refused, live.address])
        }
        connection.close()
        #expect(connection.remoteAddress == live.address)
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test func whenEveryAddressHangsTheFirstTimeoutIsReportedOnTime() async throws {
        try await withFullQueue { hanging in
            let address = try Address(hanging)
            let start = ContinuousClock.now
            let error = try await onThread {
                netError { _ = try Dialer(timeout: .milliseconds(600)).dial("tcp", addresses: [address, address]) }
            }
            let took = ContinuousClock.now - start
            #expect(error?.description == "dial tcp \(address): i/o timeout")
            #expect(took >= .milliseconds(580) && took < .seconds(3), "asked 600ms, took \(took)")
        }
    }

    @Test func anAddressListMustHoldAUsableAddress() {
        #expect { try Dialer().dial("tcp", addresses: []) } throws: { "\($0)" == "dial tcp: missing address" }
        #expect { try Dialer().dial("tcp6", addresses: [Address(ip: .loopbackV4, port: 1)]) } throws: {
            "\($0)" == "dial tcp6: no suitable address found"
        }
    }

    @Test func aDeadlineAlreadyPastFailsAReadAtOnceEvenWithBytesWaiting() async throws {
        let (client, server) = try connectedPair()
        defer { client.close(); server.close() }
        try server.write("waiting")
        #expect(try await eventually { (try? client.socket.wait(for: .readable, until: .after(.zero))) == true })
        client.setReadDeadline(.after(.milliseconds(-1)))
        let error = netError { _ = try client.read(maxLength: 16) }
        #expect(error?.isTimeout == true)
        client.setReadDeadline(nil)
        #expect(try client.read(maxLength: 16) == Array("waiting".utf8))
    }
}
