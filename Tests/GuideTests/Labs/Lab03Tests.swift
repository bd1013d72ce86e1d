// Lab 3 `blocking-read`: the demo, and `--dial` against servers we did not write as labs.
import Foundation
import Literate
import Sockets
import Testing

/// A one-connection TCP server on loopback that sends `bytes` and closes (or resets).
final class OneShotServer: Sendable {
    let listener: Listener
    private let done = DispatchSemaphore(value: 0)

    init(_ bytes: [UInt8], host: String = "127.0.0.1", reset: Bool = false) throws {
        listener = try Listener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0")
        Thread { [listener, done] in
            defer { done.signal() }
            guard let connection = try? listener.accept() else { return }
            try? connection.write(bytes)
            if reset {
                // Let the client finish connecting and start reading, then abort: RST, not FIN.
                pause(.milliseconds(200))
                try? connection.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
            }
            connection.close()
        }.start()
    }

    var address: String { listener.address.description }
    @available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
    func finish() { done.wait(); listener.close() }
    func finish() async { try? await onThread { [self] in finish() } }
}

@Suite struct Lab03BlockingRead {
    @Test func demoBlocksUntilBytesArriveAndStopsAtEOF() async throws {
        let run = try await runLab("blocking-read")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let reads = run.stdoutLines.filter { $0.hasPrefix("read #") }
        #expect(reads.count >= 3, "\(reads)")
        // The first read really slept: the peer waits 300ms before its first byte.
        let first = try #require(reads.first)
        let blocked = try #require(first.firstMatch(of: /blocked ([0-9.]+)ms/)?.1)
        #expect(Double(blocked)! >= 250, "first read: \(first)")
        // The last read is EOF, reported as the end, not as an error.
        #expect(reads.last?.contains("returned 0: EOF") == true)
        #expect(
            run.stdoutLines.contains { $0.hasPrefix("client: 14 bytes in ") && $0.hasSuffix("\"Hello World!\\r\\n\"") })
        #expect(run.stderr.isEmpty)
    }

    @Test func dialCopiesEveryByteUnchanged() async throws {
        let bytes = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 31) }  // every byte value, and \r\n
        for host in ["127.0.0.1", "::1"] {
            let server = try OneShotServer(bytes, host: host)
            let raw = try await rawOutput("blocking-read", ["--dial", server.address])
            await server.finish()
            #expect(raw.count == bytes.count)
            #expect(raw == bytes)
        }
    }

    @Test func dialWorksAgainstAnOutsideServer() async throws {
        // Python's socketserver, a TCP server nobody on this project wrote.
        let script = """
            import socket, sys
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
            print(s.getsockname()[1], flush=True)
            c, _ = s.accept(); c.sendall(b"from python\\r\\n\\x00\\xff"); c.close()
            """
        let python = try PythonPeer(script)
        let port = try await python.firstLine()
        let raw = try await rawOutput("blocking-read", ["--dial", "127.0.0.1:\(port)"])
        #expect(raw == Array("from python\r\n".utf8) + [0x00, 0xFF])
        await python.stop()
    }

    @Test func refusedAndResetAreOneGoLineAndExitOne() async throws {
        let port = try closedPort()
        expectNetworkError(
            try await runLab("blocking-read", ["--dial", "127.0.0.1:\(port)"]),
            "dial tcp 127.0.0.1:\(port): connect: connection refused")
        let server = try OneShotServer(Array("partial".utf8), reset: true)
        let run = try await runLab("blocking-read", ["--dial", server.address])
        await server.finish()
        #expect(run.status == 1)
        #expect(run.stdout == "partial", "bytes before the reset are still copied")
        #expect(
            run.stderr.hasPrefix("read tcp 127.0.0.1:") && run.stderr.hasSuffix(": read: connection reset by peer\n"),
            "\(run.stderr)")
    }

    @Test(arguments: [["--dial"], ["--dial", "127.0.0.1"], ["--dial", "192.0.2.1:99999"], ["--dial", "[::1"]])
    func badArgumentsAreUsageErrors(arguments: [String]) async throws {
        expectUsageError(try await runLab("blocking-read", arguments), mentioning: "--dial")
    }
}

/// A lab's stdout as raw bytes (for byte-exact comparisons).
func rawOutput(_ lab: String, _ arguments: [String]) async throws -> [UInt8] {
    try await onThread {
        let process = Process()
        process.executableURL = Paths.lab(lab)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }
}

/// A Python 3 program run as a peer; its first line of output is read back.
final class PythonPeer: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()

    init(_ script: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        process.standardOutput = output
        try process.run()
    }

    func firstLine() async throws -> String {
        try await onThread { [output] in
            var line = Data()
            while case let byte = output.fileHandleForReading.readData(ofLength: 1), !byte.isEmpty, byte != Data([0x0A])
            {
                line += byte
            }
            return String(decoding: line, as: UTF8.self)
        }
    }

    /// SIGKILL: a child started from a thread that blocks SIGTERM inherits that mask, so
    /// only a signal that cannot be blocked stops it for sure.
    @available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func stop() async { try? await onThread { [self] in stop() } }
}

/// Sets a running process's soft limit on descriptors (Python's resource.prlimit, from
/// outside, as a container's limit would be) and returns the soft limit it had.
func setDescriptorLimit(of pid: Int32, to soft: String) async throws -> String {
    let python = try PythonPeer(
        """
        import resource
        soft, hard = resource.prlimit(\(pid), resource.RLIMIT_NOFILE)
        resource.prlimit(\(pid), resource.RLIMIT_NOFILE, (\(soft), hard))
        print(soft, flush=True)
        """)
    let before = try await python.firstLine()
    await python.stop()
    return before
}
