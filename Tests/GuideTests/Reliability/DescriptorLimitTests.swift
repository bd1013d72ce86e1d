// Fault 4 of issue 10: in tls-server every connection before its handshake held a thread
// and a descriptor, unbounded; at the descriptor limit the accept loop retried every
// 10 ms. Now handshakes under way are bounded (TLSListener.maxHandshakes) and a lack of
// descriptors is waited out, 5 ms doubling up to 1 s.
import Foundation
import Sockets
import Synchronization
import TLS
import Testing

@Suite(.serialized) struct DescriptorLimitTests {
    /// The server runs under `prlimit --nofile=20`: a few descriptors of its own, room for a
    /// dozen clients. Thirty clients connect and say nothing; the rest wait in the backlog.
    @Test func atTheDescriptorLimitTheAcceptLoopWaitsAndAGoodClientIsServedOnceItCan() async throws {
        let c = try await Certificates.shared()
        let server = try await RunningLab(
            "tls-server",
            ["--listen", "127.0.0.1:0", "--cert", c.localhost.certificateFile, "--key", c.localhost.keyFile],
            launcher: ["/usr/bin/prlimit", "--nofile=20"])
        let address = try await server.address
        let pid = server.process.processIdentifier
        let silent = try await onThread { try (0..<30).map { _ in try dial("tcp", address, timeout: .seconds(5)) } }
        let cpuBefore = cpuTime(of: pid)
        try await onThread { pause(.seconds(3)) }
        let cpu = cpuTime(of: pid) - cpuBefore
        #expect(
            cpu < generous(.milliseconds(500)), "3 s at the descriptor limit cost \(cpu) of CPU: the accept loop spins")
        try await onThread { silent.forEach { $0.close() } }
        let started = ContinuousClock.now
        let greeting = try await onThread {
            try TLSDialer(config: .client(trusting: c.ca), timeout: .seconds(20)).dial("tcp", address).readToEnd()
        }
        let waited = ContinuousClock.now - started
        #expect(greeting == Array("Hello World!\r\n".utf8))
        #expect(waited < generous(.seconds(5)), "the good client waited \(waited) once descriptors were free")
        let stopped = try await server.stop()
        #expect(stopped.status == 0)
        let emfile = stopped.stderr.split(separator: "\n").filter { $0.contains("too many open files; retrying in") }
        #expect(!emfile.isEmpty, "the limit was never reached: \(stopped.stderr.prefix(300))")
        // 3 s of 5 ms doubling up to 1 s is about 10 tries; every 10 ms would be 300.
        #expect(emfile.count < 40, "\(emfile.count) retries logged: the pause does not grow")
    }

    /// The bound itself: with two handshakes allowed, a third connection is not accepted
    /// until one of the first two ends its handshake.
    @Test func handshakesUnderWayAreBounded() async throws {
        let c = try await Certificates.shared()
        let listener = try TLSListener(
            "tcp", "127.0.0.1:0", TLSContext(.server, .server(c.localhost)), maxHandshakes: 2)
        defer { listener.close() }
        let accepted = Mutex(0)
        Thread {
            while let connection = try? listener.accept(reporting: { _, _ in }) {
                accepted.withLock { $0 += 1 }
                Thread { try? connection.handshake() }.start()  // a silent client: ends at EOF
            }
        }.start()
        let address = listener.address.description
        let clients = try await onThread { try (0..<3).map { _ in try dial("tcp", address) } }
        #expect(try await eventually { accepted.withLock { $0 } == 2 })
        try await onThread { pause(.milliseconds(500)) }
        #expect(accepted.withLock { $0 } == 2, "a third handshake started while two were under way")
        clients[0].close()  // its handshake fails at EOF: a slot is free
        #expect(try await eventually { accepted.withLock { $0 } == 3 })
        clients.forEach { $0.close() }
    }
}
