// Lab 1 `stream-and-datagram`: the demo's claims, read back from its own output.
import Foundation
import Testing

@Suite struct Lab01StreamAndDatagram {
    @Test func demoShowsTheStreamAndTheDatagrams() async throws {
        let run = try await runLab("stream-and-datagram")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let out = run.stdoutLines

        // TCP: the three words arrive, in order, as one stream; the reads' sizes add up.
        let tcpReads = out.filter { $0.hasPrefix("server: read() returned") && !$0.contains("0 bytes: end") }
        let bytes = tcpReads.compactMap { $0.split(separator: ": ").last }.joined()
            .replacingOccurrences(of: "\"", with: "")
        #expect(bytes == "onetwothree", "TCP reads: \(tcpReads)")
        #expect(out.contains("server: read() returned 0 bytes: end of stream"))

        // One 200 000-byte write comes back in several reads of at most 64 KiB.
        let split = try #require(out.first { $0.hasPrefix("server: ") && $0.contains("reads of at most 65536 bytes") })
        let reads = try #require(Int(split.split(separator: " ")[1]))
        #expect(reads >= 4, "\(split)")
        #expect(split.contains("200000 bytes in all"))
        #expect(out.contains("server: the bytes are exactly the ones written, in the order written"))

        // UDP: three datagrams, three reads, each whole; the truncated one loses its tail.
        let udp = out.filter { $0.hasPrefix("server: recvfrom() returned") }
        #expect(udp.count == 3)
        for (line, word) in zip(udp, ["one", "two", "three"]) {
            #expect(line.hasSuffix(": \"\(word)\""), "\(line)")
            #expect(line.contains("returned \(word.count) bytes from 127.0.0.1:"))
        }
        #expect(
            out.contains(
                "server: recvfrom() with a 4-byte buffer returned \"0123\"; the next recvfrom() returned \"next\""))
    }

    @Test func argumentsAreRejected() async throws {
        expectUsageError(try await runLab("stream-and-datagram", ["extra"]), mentioning: "extra")
    }
}
