// The servers' graceful close (chapter 10): a client that writes before it reads, as a
// browser, `echo hi | nc` or `echo hi | openssl s_client` does, gets the whole greeting and
// a clean EOF, never a reset, however the race between its bytes and the server's close goes.
// Closing with those bytes unread would make Linux answer with RST, and the reset would
// throw away the greeting in the client's kernel before the client read it.
import Foundation
import LabKit
import Literate
import Sockets
import Synchronization
import TLS
import TestPKI
import Testing

/// Runs `tries` copies of `body`, `parallel` threads at a time; returns what each gave.
func inBatches<T: Sendable>(_ tries: Int, parallel: Int, _ body: @escaping @Sendable () -> T) async throws -> [T] {
    try await onThread {
        let results = Mutex<[T]>([])
        for start in stride(from: 0, to: tries, by: parallel) {
            let threads = (start..<min(start + parallel, tries)).map { _ in
                BackgroundThread("client") {
                    let result = body()
                    results.withLock { $0.append(result) }
                }
            }
            threads.forEach { $0.join() }
        }
        return results.withLock { $0 }
    }
}

@Suite struct GracefulClose {
    /// A client that sends a request first, then reads to the end: the greeting, or what went wrong.
    static func writeFirstThenRead(_ address: String) -> String {
        do {
            let connection = try dial("tcp", address, timeout: .seconds(10))
            defer { connection.close() }
            connection.setReadDeadline(.after(.seconds(10)))
            try connection.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let bytes = try connection.readToEnd()
            return bytes == helloBytes ? "ok" : "only \(String(decoding: bytes, as: UTF8.self).debugDescription)"
        } catch {
            return "\(error)"
        }
    }

    @Test func aPlainClientThatWritesFirstGetsTheWholeGreetingAndEOFEveryTime() async throws {
        let server = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let address = try await server.address
        let outcomes = try await inBatches(200, parallel: 20) { Self.writeFirstThenRead(address) }
        let failures = outcomes.filter { $0 != "ok" }
        #expect(failures.isEmpty, "\(failures.count) of 200 lost data: \(Set(failures))")
        #expect(outcomes.count == 200)
        _ = try await server.stop()
    }

    @Test func opensslsClientThatWritesFirstGetsTheGreetingAndNoReset() async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost)
        let address = try await server.address
        // The issue's reproduction, word for word: before the graceful close about half of
        // these printed `read:errno=104` (ECONNRESET) and no greeting.
        let command = "echo hi | exec openssl s_client -connect \(address) -CAfile '\(c.ca.certificateFile)' -quiet"
        let outcomes = try await inBatches(100, parallel: 10) { () -> String in
            guard let run = try? LabRun(URL(fileURLWithPath: "/bin/sh"), ["-c", command], timeout: 20) else {
                return "could not run openssl"
            }
            if run.stdout == "Hello World!\r\n" && !run.stderr.contains("errno") && run.status == 0 { return "ok" }
            return "status \(run.status), stdout \(run.stdout.debugDescription), stderr \(run.stderr.debugDescription)"
        }
        let failures = outcomes.filter { $0 != "ok" }
        #expect(failures.isEmpty, "\(failures.count) of 100 failed, e.g. \(failures.first ?? "")")
        _ = try await server.stop()
    }

    @Test func ourTLSClientThatWritesFirstGetsTheGreetingAndCloseNotify() async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost)
        let address = try await server.address
        let ca = c.ca
        let outcomes = try await inBatches(100, parallel: 10) { () -> String in
            do {
                let connection = try TLSDialer(config: .client(trusting: ca), timeout: .seconds(10))
                    .dial("tcp", address)
                defer { connection.close() }
                connection.setReadDeadline(.after(.seconds(10)))
                try connection.write("hi\n")
                let bytes = try connection.readToEnd()
                if connection.closedWithoutCloseNotify { return "EOF without close_notify" }
                return bytes == helloBytes ? "ok" : "only \(String(decoding: bytes, as: UTF8.self).debugDescription)"
            } catch {
                return "\(error)"
            }
        }
        let failures = outcomes.filter { $0 != "ok" }
        #expect(failures.isEmpty, "\(failures.count) of 100 failed: \(Set(failures))")
        _ = try await server.stop()
    }

    /// The linger is bounded: a peer that never stops sending cannot hold the server's thread.
    @Test func theLingerEndsAtItsTimeEvenIfThePeerNeverCloses() async throws {
        let took = try await timeGracefulClose(lingering: .milliseconds(300), discarding: .max) { client in
            while (try? client.write([UInt8](repeating: 0x61, count: 1024))) != nil {}  // until the close resets it
        }
        #expect(took >= .milliseconds(250) && took < .seconds(10), "\(took)")
    }

    @Test func theLingerEndsAfterItsByteLimit() async throws {
        // 200 kB, more than the linger may read, then the client waits.
        let took = try await timeGracefulClose(lingering: .seconds(30), discarding: 65_536, after: .milliseconds(100)) {
            _ = try? $0.write([UInt8](repeating: 0x61, count: 200_000))
        }
        #expect(took < .seconds(10), "the byte limit, not the 30 s, should have ended it: \(took)")
    }

    /// How long the server end's graceful close takes while `send` runs on the client's end;
    /// the close starts `after` the sender does.
    private func timeGracefulClose(
        lingering: Duration, discarding: Int, after: Duration = .zero,
        send: @escaping @Sendable (Connection) -> Void
    ) async throws -> Duration {
        try await onThread {
            let listener = try Listener("tcp", "127.0.0.1:0")
            defer { listener.close() }
            let client = try dial("tcp", listener.address.description)
            defer { client.close() }
            let server = try listener.accept()
            Thread { send(client) }.start()
            if after > .zero { pause(after) }
            let start = ContinuousClock.now
            server.closeGracefully(lingering: lingering, discarding: discarding)
            return ContinuousClock.now - start
        }
    }
}
