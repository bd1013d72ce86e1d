// The module's promises, each checked against the kernel on loopback.
import Foundation
import Testing

@testable import Sockets

/// A port on 127.0.0.1 that nothing listens on: bound by us, then released.
func closedPort() throws -> UInt16 {
    let listener = try Listener("tcp", "127.0.0.1:0")
    defer { listener.close() }
    return listener.address.port
}

/// A connected pair on loopback: (client, server).
func connectedPair(_ host: String = "127.0.0.1") throws -> (Connection, Connection) {
    let listener = try Listener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0")
    defer { listener.close() }
    let client = try dial("tcp", listener.address.description)
    return (client, try listener.accept())
}

/// The error `body` throws, or nil if it succeeds.
func netError(_ body: () throws -> Void) -> NetError? {
    do { try body(); return nil } catch { return error as? NetError }
}

@Suite struct ErrorTextTests {
    @Test func refusedDialReadsLikeGo() async throws {
        let port = try closedPort()
        let error = try await onThread { netError { _ = try dial("tcp", "127.0.0.1:\(port)") } }
        #expect(error?.description == "dial tcp 127.0.0.1:\(port): connect: connection refused")
        #expect(error?.code == ECONNREFUSED)
    }

    @Test func badAddressesAndNetworksReadLikeGo() {
        #expect { try dial("tcp", "127.0.0.1") } throws: {
            "\($0)" == "dial tcp: address 127.0.0.1: missing port in address"
        }
        #expect { try dial("sctp", "127.0.0.1:1") } throws: { "\($0)" == "dial sctp: unknown network sctp" }
        #expect { try dial("tcp6", "[::ffff:127.0.0.1]:1") } throws: {
            "\($0)" == "dial tcp6: address ::ffff:127.0.0.1: no suitable address found"  // mapped IPv4 is IPv4
        }
        #expect { try Listener("udp", "127.0.0.1:0") } throws: { "\($0)".hasPrefix("listen udp: not a stream network") }
        #expect { try dial("tcp6", "127.0.0.1:1") } throws: {
            "\($0)" == "dial tcp6: address 127.0.0.1: no suitable address found"
        }
    }

    @Test func opErrorFormat() throws {
        // Only the text is tested: no socket is opened, so these ports are never used.
        let (local, remote) = (Address(ip: .loopbackV4, port: 5000), Address(ip: .loopbackV4, port: 6000))
        let error = NetError(
            op: "read", network: "tcp", local: local, remote: remote.description,
            SystemError(call: "read", code: ECONNRESET))
        #expect(error.description == "read tcp 127.0.0.1:5000->127.0.0.1:6000: read: connection reset by peer")
        let v6 = Address(ip: .loopbackV6, port: 4000)
        #expect(
            NetError(op: "dial", network: "tcp", remote: v6.description, reason: .timeout).description
                == "dial tcp [::1]:4000: i/o timeout")
        #expect(
            LookupError(name: "nosuch.test", reason: "no such host", isNotFound: true).description
                == "lookup nosuch.test: no such host")
    }

    @Test func numericAndHostsFileNamesResolveLocally() throws {
        #expect(try Resolver.lookupHost("127.0.0.1") == ["127.0.0.1"])
        #expect(try Resolver.lookupHost("::1") == ["::1"])
        // `localhost` is answered from /etc/hosts: no resolver is asked.
        let localhost = try Resolver.lookupIP("localhost")
        #expect(!localhost.isEmpty && localhost.allSatisfy(\.isLoopback))
    }
}

@Suite struct SocketBehaviourTests {
    @Test func partialWritesAreFinished() async throws {
        let (client, server) = try connectedPair()
        defer { client.close(); server.close() }
        // Tiny buffers: the kernel takes a large write a few kilobytes at a time.
        try client.socket.setOption(SOL_SOCKET, SO_SNDBUF, Int32(16_384))
        try server.socket.setOption(SOL_SOCKET, SO_RCVBUF, Int32(16_384))

        // First, proof that partial writes really happen: a nonblocking send of 600 kB.
        let big = (0..<600_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try client.socket.setNonblocking(true)
        let first = try big.withUnsafeBytes { try client.socket.send($0) }
        guard case .done(let accepted) = first else { Issue.record("send would block on an empty buffer"); return }
        #expect(accepted > 0 && accepted < big.count, "the kernel took \(accepted) of \(big.count) bytes")
        try client.socket.setNonblocking(false)

        // Then writeAll finishes the rest while a slow reader drains the other end.
        let rest = Array(big[accepted...])
        let writer = Task.detached {
            try await onThread {
                try client.write(rest); client.close()
            }
        }
        let received = try await onThread { () -> [UInt8] in
            var all: [UInt8] = []
            pause(.milliseconds(50))  // a slow reader: the writer finds the buffers full
            while case let chunk = try server.read(maxLength: 8192), !chunk.isEmpty {
                all += chunk
            }
            return all
        }
        try await writer.value
        #expect(received.count == big.count)
        #expect(received == big)
    }

    @Test func aPeerThatResetsGivesAnErrorNotASignal() async throws {
        let (client, server) = try connectedPair()
        defer { client.close(); server.close() }
        // SO_LINGER with a zero timeout: close sends RST instead of FIN.
        try server.socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
        server.close()
        let readError = try await onThread { netError { _ = try client.read(maxLength: 10) } }
        #expect(readError?.code == ECONNRESET)
        #expect(readError?.description.hasSuffix(": read: connection reset by peer") == true)
        #expect(readError?.description.hasPrefix("read tcp 127.0.0.1:") == true)
        // Writing to the dead connection: EPIPE as an error, and this process is still alive.
        let writeError = try await onThread {
            netError { for _ in 0..<10 { try client.write([UInt8](repeating: 1, count: 1000)) } }
        }
        #expect(writeError?.code == EPIPE || writeError?.code == ECONNRESET)
    }

    @Test func emptyNonblockingSocketsSayWouldBlock() throws {
        let udp = try PacketConn("udp", "127.0.0.1:0", nonblocking: true)
        defer { udp.close() }
        guard case .wouldBlock = try udp.socket.receiveFrom() else {
            Issue.record("recvfrom on an empty nonblocking socket returned data")
            return
        }
        let (client, server) = try connectedPair()
        defer { client.close(); server.close() }
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = try buffer.withUnsafeMutableBytes { try server.socket.read(into: $0, dontWait: true) }
        guard case .wouldBlock = result else { Issue.record("read with nothing sent returned \(result)"); return }
    }

    @Test func readDeadlineOnASilentPeer() async throws {
        let (client, server) = try connectedPair()
        defer { client.close(); server.close() }
        client.setReadDeadline(.after(.milliseconds(200)))
        let start = ContinuousClock.now
        let error = try await onThread { netError { _ = try client.read(maxLength: 10) } }
        let waited = ContinuousClock.now - start
        #expect(error?.isTimeout == true)
        #expect(error?.description.hasSuffix(": i/o timeout") == true)
        #expect(waited >= .milliseconds(190), "gave up after \(waited), before the deadline")
        #expect(waited < generous(.seconds(10)))
    }

    @Test func ipv6LoopbackWorks() async throws {
        let (client, server) = try connectedPair("::1")
        defer { client.close(); server.close() }
        try client.write("over IPv6")
        client.close()
        let bytes = try await onThread { try server.readToEnd() }
        #expect(String(decoding: bytes, as: UTF8.self) == "over IPv6")
        #expect(server.remoteAddress?.description.hasPrefix("[::1]:") == true)
    }

    @Test func closeFromAnotherThreadWakesABlockedReadAndAccept() async throws {
        let (client, server) = try connectedPair()
        let listener = try Listener("tcp", "127.0.0.1:0")
        defer { server.close() }
        let closer = Thread {
            // Each close comes once its call is under way: blocked in the kernel, or about to
            // be (then the shutdown that close sends makes the call return at once all the same).
            while client.socket.callsInProgress == 0 { pause(.milliseconds(10)) }
            client.close()
            while listener.socket.callsInProgress == 0 { pause(.milliseconds(10)) }
            listener.close()
        }
        closer.start()
        // Without the wake-up these two would block forever (Linux's close does not wake them).
        let (read, accepted) = try await onThread { () -> (Result<[UInt8], NetError>, NetError?) in
            let read = Result { () throws(NetError) in try client.read(maxLength: 10) }
            return (read, netError { _ = try listener.accept() })
        }
        #expect((try? read.get()) == [], "a read woken by close() sees end of stream")
        #expect(accepted != nil, "accept on a closed listener fails")
        #expect(client.socket.descriptor == -1 && listener.socket.descriptor == -1)
    }

    @Test func aClosedSocketFailsAtOnceEvenWithADeadline() async throws {
        let (client, server) = try connectedPair()
        defer { server.close() }
        client.close()
        client.setReadDeadline(.after(generous(.seconds(30))))  // the bound below stays under it
        let start = ContinuousClock.now
        let error = try await onThread { netError { _ = try client.read(maxLength: 1) } }
        #expect(error?.code == EBADF, "\(String(describing: error))")
        #expect(!(error?.isTimeout ?? true))
        #expect(ContinuousClock.now - start < generous(.seconds(20)), "it did not sleep to the deadline")
    }

    @Test func closeIsIdempotent() throws {
        let socket = try Socket(family: try Address("127.0.0.1:0").family, type: .stream)
        #expect(socket.descriptor >= 0)
        socket.close()
        socket.close()
        #expect(socket.descriptor == -1)
        #expect(throws: SystemError.self) { try socket.bind(try Address("127.0.0.1:0")) }
    }
}
