// Counts /proc/self/fd around work that opens and closes descriptors, on every path:
// success, refusal, timeout, reset, and sockets dropped without `close()`.
// `make test` runs this suite alone, after the rest, so no other test's sockets are counted.
import Foundation
import Sockets
import Testing

@Suite(.serialized) struct DescriptorLeaks {
    @Test func noDescriptorOutlivesItsSocket() async throws {
        let before = openDescriptorCount()
        try await onThread {
            for _ in 0..<20 {
                let (client, server) = try connectedPair()
                try client.write("x")
                _ = try server.read(maxLength: 1)
                client.close()
                _ = try server.readToEnd()
                server.close()
            }
            // Error paths: a refused dial, a bad address, a timed-out read.
            let port = try closedPort()
            for _ in 0..<5 { _ = try? dial("tcp", "127.0.0.1:\(port)") }
            _ = try? dial("tcp", "127.0.0.1")
            let (client, server) = try connectedPair()
            client.setReadDeadline(.after(.milliseconds(10)))
            _ = try? client.read(maxLength: 1)
            // Dropped without close(): the owner's deinit closes them.
            _ = (client, server)
            _ = try PacketConn("udp", "127.0.0.1:0")
            _ = try Listener("tcp", "[::1]:0")
        }
        #expect(openDescriptorCount() == before, "descriptors before: \(before), after: \(openDescriptorCount())")
    }
}
