// Fault 5 of issue 10: SIGTERM exited from the signal thread and cut the clients in
// flight; `hello-server | head -1` died of SIGPIPE at its next line. Now a stop signal
// closes the listener, lets the connections in progress finish (LabKit's `Serving`, up to
// its grace period), then exits 0; and a closed stdout is an EPIPE that the server ignores.
import Foundation
import Sockets
import TLS
import Testing

@Suite(.serialized) struct StopTests {
    /// A client connects, says nothing, and starts its handshake only after SIGTERM: the
    /// server accepts no one new, but finishes with this client, then exits 0.
    @Test func tlsServerFinishesAClientInProgressAfterSIGTERM() async throws {
        let c = try await Certificates.shared()
        let server = try await tlsServer(c.localhost)
        let address = try await server.address
        let pid = server.process.processIdentifier
        let tcp = try await onThread { try dial("tcp", address, timeout: .seconds(5)) }
        // Accepted, not just queued: its thread is waiting for a ClientHello.
        let port = tcp.localAddress?.port ?? 0
        try #require(try await eventually(within: .seconds(10)) { hasAccepted(pid, clientPort: port) })
        kill(pid, SIGTERM)
        try await onThread { pause(.milliseconds(500)) }
        let newcomer = try await onThread { Result { () throws(NetError) in try dial("tcp", address) } }
        #expect(throws: NetError.self, "a stopping server accepted a new client") { try newcomer.get().close() }
        let greeting = try await onThread {
            Result {
                let tls = try TLSConnection.client(tcp, TLSContext(.client, .client(trusting: c.ca)), host: "127.0.0.1")
                defer { tls.close() }
                try tls.handshake(until: .after(.seconds(10)))
                return try tls.readToEnd()
            }
        }
        let stopped = try await server.wait(timeout: 10)
        #expect(try greeting.get() == Array("Hello World!\r\n".utf8), "server: \(stopped)")
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(!stopped.stderr.contains("accept"), "the stop is not an accept error: \(stopped.stderr)")
    }

    /// Clients by the hundred while SIGTERM arrives: each gets the whole greeting, or is
    /// refused before a byte; none is cut short; the server exits 0.
    @Test func helloServerCutsNoGreetingShortOnSIGTERM() async throws {
        let server = try await RunningLab("hello-server", ["--listen", "127.0.0.1:0"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        Thread {
            pause(.milliseconds(150))
            kill(pid, SIGTERM)
        }.start()
        var fetched: [Fetched] = []
        for _ in 0..<4 { fetched += try await fetchAtOnce(address, count: 100) }
        let partial = fetched.filter { !$0.isGreeting && !$0.isRefusedCleanly }
        #expect(partial.isEmpty, "\(partial.count) greetings cut short, e.g. \(partial.prefix(2))")
        let stopped = try await server.wait(timeout: 15)
        #expect(stopped.status == 0, "\(stopped.stderr.prefix(300))")
    }

    /// `hello-server --listen … | head -1`: head exits after the first line, and every
    /// line after it is a write to a closed pipe. The server goes on serving, and a
    /// SIGTERM still ends it with status 0 (bash's pipefail reports the server's status).
    @Test func helloServerOutlivesItsReader() async throws {
        let server = try await RunningLab(
            "hello-server", ["--listen", "127.0.0.1:0"],
            launcher: ["/bin/bash", "-c", "set -o pipefail; \"$0\" \"$@\" | head -1"])
        let address = try await server.address
        for _ in 0..<3 {  // each greeting is narrated: a line for the closed pipe
            #expect(try await fetchAtOnce(address, count: 5).allSatisfy(\.isGreeting))
        }
        let children =
            (try? String(
                contentsOfFile:
                    "/proc/\(server.process.processIdentifier)/task/\(server.process.processIdentifier)/children",
                encoding: .utf8)) ?? ""
        let lab = children.split(separator: " ").compactMap { Int32($0) }.first { pid in
            (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("hello-server") == true
        }
        let pid = try #require(lab, "hello-server is no longer running (killed by SIGPIPE?)")
        kill(pid, SIGTERM)
        let stopped = try await server.wait(timeout: 15)
        #expect(stopped.status == 0, "the pipeline's status: \(stopped.status), stderr: \(stopped.stderr)")
    }
}
