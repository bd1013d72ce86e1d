// Lab 4 `nonblocking-recvfrom`: the demo, and `--listen` receiving from outside senders.
import Foundation
import Sockets
import Testing

@Suite struct Lab04NonblockingRecvfrom {
    @Test func demoShowsEAGAINThenPoll() async throws {
        let run = try await runLab("nonblocking-recvfrom")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let out = run.stdoutLines
        #expect(
            out.contains { $0.hasPrefix("recvfrom() with nothing queued: EAGAIN (resource temporarily unavailable)") })
        let datagrams = out.filter { $0.hasPrefix("127.0.0.1:") }
        #expect(datagrams.map { $0.split(separator: ": ").last.map(String.init) } == ["one", "two", "three"])
        // Between datagrams the lab slept in poll (the sender pauses 200ms), not in a loop.
        let polls = out.filter { $0.contains("poll(POLLIN) slept") }
        #expect(polls.count >= 1 && polls.count <= 3, "\(polls)")
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func listenPrintsEachDatagramFromAnySender(host: String) async throws {
        let bind = host.contains(":") ? "[\(host)]:0" : "\(host):0"
        let lab = try await RunningLab("nonblocking-recvfrom", ["--listen", bind, "--count", "3", "--timeout", "20s"])
        let target = try Address(try await lab.address)
        // Sender 1: a raw Glibc socket, no module code in the way.
        let raw = socket(target.family, Int32(SOCK_DGRAM.rawValue), 0)
        let rawFrom = try #require(try rawSend(raw, Array("from C\n".utf8), to: target))
        // Sender 2: our module. Sender 3: Python's socket module.
        let conn = try PacketConn("udp", bind)
        try conn.writeTo(Array("tab\there".utf8), target)
        let python = try PythonPeer(
            """
            import socket
            s = socket.socket(socket.AF_INET6 if ":" in "\(host)" else socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("\(host)", 0)); s.sendto("python ✓".encode(), ("\(host)", \(target.port)))
            print(s.getsockname()[1], flush=True)
            """)
        let pythonPort = try await python.firstLine()
        await python.stop()
        let result = try await lab.wait()
        close(raw)
        conn.close()
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = Set(result.lines.dropFirst())
        #expect(
            lines == [
                "\(rawFrom): from C", "\(conn.localAddress): tab\\there",
                "\(Address(ip: target.ip, port: UInt16(pythonPort)!)): python ✓",
            ])
    }

    @Test func timeoutIsAGoErrorAndExitOne() async throws {
        let lab = try await RunningLab("nonblocking-recvfrom", ["--listen", "127.0.0.1:0", "--timeout", "300ms"])
        let address = try await lab.address
        let result = try await lab.wait()
        #expect(result.status == 1)
        #expect(result.stderr == "read udp \(address): i/o timeout\n")
    }

    @Test func sigtermStopsItCleanly() async throws {
        let lab = try await RunningLab("nonblocking-recvfrom", ["--listen", "127.0.0.1:0"])
        let result = try await lab.stop()
        #expect(result.status == 0)
    }

    @Test(arguments: [
        (["--listen", "127.0.0.1:0", "--count", "0"], "--count"),
        (["--listen", "127.0.0.1:0", "--timeout", "5"], "--timeout"),
        (["--listen", "nonsense"], "--listen"),
        (["--count", "3"], "--listen"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], flag: String) async throws {
        expectUsageError(try await runLab("nonblocking-recvfrom", arguments), mentioning: flag)
    }
}

/// `sendto` on a raw, unbound descriptor; returns the sender's address: the port the
/// kernel assigned, on the target's loopback address.
func rawSend(_ fd: Int32, _ bytes: [UInt8], to target: Address) throws -> String? {
    let sent = bytes.withUnsafeBytes { buffer in
        target.withSockAddr { sendto(fd, buffer.baseAddress, buffer.count, 0, $0, $1) }
    }
    guard sent == bytes.count else { return nil }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Address(storage: storage).map { Address(ip: target.ip, port: $0.port).description }
}
