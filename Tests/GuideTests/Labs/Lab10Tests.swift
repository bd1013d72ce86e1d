// Lab 10 `framing`: the demo, the server role against a Python peer (bytes split every
// way, 1 MiB messages, a half-close, a client that never reads, a length over the limit),
// the client role against the server role, and the module's BufferedReader on its own.
import Foundation
import Literate
import Sockets
import Testing

/// A Python peer for `framing --listen`: `send(s, payload)` frames and sends one message,
/// `reply(s)` reads one back (None at EOF between messages).
let framingPython = """
    import socket, struct, sys, threading, time
    host, port = sys.argv[1], int(sys.argv[2])
    def connect():
        s = socket.create_connection((host, port), timeout=20)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    def framed(payload):
        return struct.pack(">I", len(payload)) + payload
    def exactly(s, n):
        data = b""
        while len(data) < n:
            chunk = s.recv(min(n - len(data), 1 << 20))
            if not chunk:
                return None if not data else "cut"
            data += chunk
        return data
    def reply(s):
        header = exactly(s, 4)
        if header is None:
            return None
        return exactly(s, struct.unpack(">I", header)[0])

    """

@Suite struct Lab10Framing {
    @Test func demoShowsEverySplitTheLimitLinesThePartialWriteAndBothCloses() async throws {
        let run = try await runLab("framing")
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let out = run.stdout
        #expect(out.contains("one read() got 17 bytes: \"alphabravocharlie\""))
        #expect(
            out.contains("one byte per send(): 29 bytes in 29 send() calls; replies \"alpha\", \"bravo\", \"charlie\""))
        #expect(
            out.contains(
                "all three in one send(): 29 bytes in 1 send() call; replies \"alpha\", \"bravo\", \"charlie\""))
        #expect(out.contains("reply of 1048576 bytes, identical"))
        #expect(out.contains("replies \"last one\", \"really the last\", then EOF"))
        #expect(out.contains(": message of 1048577 bytes is over the 1048576-byte limit"))
        #expect(out.contains("connected all along: reply \"still here\""))
        #expect(out.contains(": line longer than 64 bytes"))
        #expect(out.contains("the reader got all 1048576 bytes, in order"))
        #expect(out.contains("closeGracefully(): the client read 1048576 of 1048576 bytes, then EOF"))
        let abrupt = try #require(run.stdoutLines.first { $0.contains("close() at once:") })
        #expect(abrupt.hasSuffix("connection reset by peer"), "\(abrupt)")
    }

    /// The server role, a Python peer running `script` (after `framingPython`), and what it printed.
    func withServer(_ script: String, _ extra: [String] = []) async throws -> (String, RunningLab) {
        let server = try await RunningLab("framing", ["--listen", "127.0.0.1:0"] + extra)
        let port = try await server.address.split(separator: ":").last.map(String.init) ?? "0"
        let python = try await onThread {
            try LabRun(
                URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", framingPython + script, "127.0.0.1", port],
                timeout: 60)
        }
        #expect(python.status == 0, "python: \(python.stderr)")
        return (python.stdout, server)
    }

    @Test func answersEveryMessageHoweverItsBytesAreSplit() async throws {
        let (out, server) = try await withServer(
            """
            messages = [b"alpha", b"", b"bravo" * 100, bytes(range(256))]
            wire = b"".join(framed(m) for m in messages)
            s = connect()                                   # one byte per send
            for i in range(len(wire)):
                s.sendall(wire[i:i + 1])
            print("bytes", [reply(s) for _ in messages] == messages)
            s.close()
            s = connect()                                   # every message in one send
            s.sendall(wire * 10)
            print("batch", [reply(s) for _ in range(40)] == messages * 10)
            s.close()
            s = connect()                                   # two messages of 1 MiB, the limit
            big = [bytes([i % 251 for i in range(1 << 20)]), b"z" * (1 << 20)]
            threading.Thread(target=lambda: s.sendall(framed(big[0]) + framed(big[1]))).start()
            print("huge", [reply(s), reply(s)] == big)
            s.close()
            """)
        #expect(out == "bytes True\nbatch True\nhuge True\n", "\(out)")
        let stopped = try await server.stop()
        #expect(stopped.status == 0)
        #expect(stopped.stderr.isEmpty, "\(stopped.stderr)")
    }

    @Test func aClientThatHalfClosesStillGetsItsRepliesThenEOF() async throws {
        let (out, server) = try await withServer(
            """
            s = connect()
            s.sendall(framed(b"one") + framed(b"two"))
            s.shutdown(socket.SHUT_WR)
            print(reply(s), reply(s), reply(s), s.recv(1))
            """)
        #expect(out == "b'one' b'two' None b''\n", "\(out)")
        _ = try await server.stop()
    }

    @Test func aClientThatNeverReadsDoesNotStallTheOthers() async throws {
        let (out, server) = try await withServer(
            """
            hog = connect()                                  # sends 32 MiB and reads nothing
            threading.Thread(target=lambda: hog.sendall(framed(b"x" * (1 << 20)) * 32), daemon=True).start()
            time.sleep(0.5)                                  # its replies fill the buffers, its thread blocks
            start = time.monotonic()
            for i in range(5):
                s = connect()
                s.sendall(framed(b"hello %d" % i))
                print(reply(s))
                s.close()
            print("quick", time.monotonic() - start < 20)
            hog.close()
            """)
        #expect(out == "b'hello 0'\nb'hello 1'\nb'hello 2'\nb'hello 3'\nb'hello 4'\nquick True\n", "\(out)")
        _ = try await server.stop()
    }

    @Test func aLengthOverTheLimitEndsThatConnectionOnlyWithOneLoggedLine() async throws {
        let (out, server) = try await withServer(
            """
            other = connect()
            liar = connect()
            liar.sendall(struct.pack(">I", (1 << 20) + 1) + b"never mind")
            print("liar", liar.recv(100))
            other.sendall(framed(b"still here"))
            print("other", reply(other))
            s = connect()
            s.sendall(struct.pack(">I", 0xFFFFFFFF))
            print("huge", s.recv(100))
            """)
        #expect(out == "liar b''\nother b'still here'\nhuge b''\n", "\(out)")
        let stopped = try await server.stop()
        #expect(stopped.status == 0)
        let logged = stopped.stderr.split(separator: "\n")
        #expect(logged.count == 2, "one line per connection ended: \(stopped.stderr)")
        #expect(logged.first?.hasSuffix(": message of 1048577 bytes is over the 1048576-byte limit") == true)
        #expect(logged.last?.hasSuffix(": message of 4294967295 bytes is over the 1048576-byte limit") == true)
    }

    @Test func theClientRolePrintsEachReplyAndCountStopsTheServer() async throws {
        let server = try await RunningLab("framing", ["--listen", "[::1]:0", "--count", "1"])
        let address = try await server.address
        let run = try await runLab("framing", ["--dial", address, "alpha", "two words", "ünïcode"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "alpha\ntwo words\nünïcode\n")
        let stopped = try await server.wait()
        #expect(stopped.status == 0, "after --count 1 the server exits 0: \(stopped)")
    }

    @Test(arguments: [
        (["--listen", "127.0.0.1:0", "--count", "0"], "--count"),
        (["--dial", "127.0.0.1:1"], "MESSAGE"),
        (["--listen", "127.0.0.1:0", "--dial", "127.0.0.1:1", "x"], "--dial"),
        (["--listen", "127.0.0.1:0", "extra"], "extra"),
        (["--dial", "127.0.0.1"], "--dial"),
        (["--count", "3"], "--count"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], word: String) async throws {
        expectUsageError(try await runLab("framing", arguments), mentioning: word)
    }

    @Test func aRefusedDialIsOneGoLineAndExitOne() async throws {
        let closed = try Listener("tcp", "127.0.0.1:0")
        let address = closed.address.description
        closed.close()
        let run = try await runLab("framing", ["--dial", address, "hello"])
        expectNetworkError(run, "dial tcp \(address): connect: connection refused")
    }
}

/// The module's BufferedReader, fed by a scripted source: every split, every limit.
@Suite struct BufferedReaderTests {
    /// A source that hands out `chunks` one per read, then EOF.
    final class Script: ByteReader {
        var chunks: [[UInt8]]
        init(_ chunks: [[UInt8]]) { self.chunks = chunks }
        func read(into buffer: inout [UInt8]) throws(NetError) -> Int {
            guard !chunks.isEmpty else { return 0 }
            var chunk = chunks.removeFirst()
            if chunk.count > buffer.count {
                chunks.insert(Array(chunk[buffer.count...]), at: 0)
                chunk = Array(chunk[..<buffer.count])
            }
            buffer.replaceSubrange(0..<chunk.count, with: chunk)
            return chunk.count
        }
        func readFailure(_ reason: String) -> NetError {
            NetError(op: "read", network: "test", remote: nil, reason: .other(reason))
        }
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func readFullJoinsReadsAndTellsACleanEndFromACutOne() throws {
        let reader = BufferedReader(Script([bytes("ab"), bytes("c"), bytes("defg")]))
        #expect(try reader.readFull(5) == bytes("abcde"))
        #expect(try reader.readFull(0) == [])
        #expect(throws: NetError.self) { try reader.readFull(3) }  // "fg", then EOF: cut short
        let clean = BufferedReader(Script([bytes("abc")]))
        #expect(try clean.readFull(3) == bytes("abc"))
        #expect(try clean.readFull(1) == nil)
    }

    @Test func readLineSplitsOnNewlinesDropsCRAndKeepsTheRest() throws {
        let reader = BufferedReader(Script([bytes("GET / HT"), bytes("TP/1.1\r\nHost: a\n\r"), bytes("\nrest")]))
        #expect(try reader.readLine(maxLength: 14) == bytes("GET / HTTP/1.1"))
        #expect(try reader.readLine(maxLength: 14) == bytes("Host: a"))
        #expect(try reader.readLine(maxLength: 14) == [])
        #expect(try reader.readFull(4) == bytes("rest"))
        #expect(try reader.readLine(maxLength: 14) == nil)
    }

    @Test func aLineOverItsLimitFailsWithoutReadingOnAndEOFInsideALineIsAnError() throws {
        let exact = BufferedReader(Script([bytes("abcd\r\n")]))
        #expect(try exact.readLine(maxLength: 4) == bytes("abcd"))
        let long = BufferedReader(Script([bytes("abcde\n")]))
        #expect(throws: NetError.self) { try long.readLine(maxLength: 4) }
        // A peer that never sends "\n": the reader stops once it holds more than the limit.
        let endless = Script(Array(repeating: bytes("xxxxxxxx"), count: 1000))
        let reader = BufferedReader(endless)
        do {
            _ = try reader.readLine(maxLength: 64)
            Issue.record("a line with no end was accepted")
        } catch {
            #expect("\(error)".hasSuffix("line longer than 64 bytes"))
        }
        #expect(reader.reads < 20, "it kept reading: \(reader.reads) reads")
        #expect(reader.lineFailure == .tooLong)
        let cut = BufferedReader(Script([bytes("no newline")]))
        #expect(throws: NetError.self) { try cut.readLine(maxLength: 64) }
        #expect(cut.lineFailure == .endedInside)
    }

    @Test func readUpToHandsOutWhatIsBufferedBeforeReadingAgain() throws {
        let reader = BufferedReader(Script([bytes("line\nab"), bytes("cdef")]))
        #expect(try reader.readLine(maxLength: 8) == bytes("line") && reader.lineFailure == nil)
        #expect(try reader.read(upTo: 10) == bytes("ab"), "the buffer's 2 bytes, not a wait for 10")
        #expect(try reader.waitForByte() && reader.buffered == 4)
        #expect(try reader.read(upTo: 3) == bytes("cde"))
        #expect(try reader.read(upTo: 3) == bytes("f"))
        #expect(try reader.read(upTo: 3) == [] && !(try reader.waitForByte()))
    }
}
