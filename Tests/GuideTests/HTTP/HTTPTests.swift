// The HTTP module on its own: heads read across any split of the bytes, every limit
// enforced with its status, and a root that no path leaves.
import Foundation
import HTTP
import Sockets
import Testing

/// A stream that hands out `text` at most `chunk` bytes per read, as a network would, then EOF.
final class Chunks: ByteReader {
    private var rest: ArraySlice<UInt8>
    private let chunk: Int

    init(_ text: String, chunk: Int) {
        rest = Array(text.utf8)[...]
        self.chunk = chunk
    }

    func read(into buffer: inout [UInt8]) throws(NetError) -> Int {
        let count = min(chunk, rest.count, buffer.count)
        buffer.replaceSubrange(0..<count, with: rest.prefix(count))
        rest = rest.dropFirst(count)
        return count
    }

    func readFailure(_ reason: String) -> NetError {
        NetError(op: "read", network: "test", remote: nil, reason: .other(reason))
    }
}

/// Chapter 10's reader over `text`, as the server reads a connection.
func reader(_ text: String, chunk: Int = 7) -> BufferedReader { BufferedReader(Chunks(text, chunk: chunk)) }

func refusal(_ text: String, limits: HeadLimits = HeadLimits()) -> RequestError? {
    do {
        _ = try RequestHead.read(from: reader(text), limits: limits)
        return nil
    } catch let error as RequestError {
        return error
    } catch {
        return RequestError(.badRequest, "unexpected \(error)")
    }
}

@Suite struct HTTPHeads {
    @Test(arguments: [1, 3, 7, 4096])
    func twoRequestsInOneStreamAreReadOneAfterTheOther(chunk: Int) throws {
        let stream = reader(
            "GET /a HTTP/1.1\r\nHost: x\r\nAccept:  */*  \r\n\r\nHEAD /b?q=1 HTTP/1.0\nHost: y\n\n", chunk: chunk)
        let first = try #require(try RequestHead.read(from: stream))
        #expect(first.method == "GET" && first.target == "/a" && first.version == "HTTP/1.1")
        #expect(first.values("accept") == ["*/*"] && first.values("HOST") == ["x"])
        #expect(first.keepsAlive)
        let second = try #require(try RequestHead.read(from: stream))
        #expect(second.method == "HEAD" && second.target == "/b?q=1" && !second.keepsAlive)
        #expect(try RequestHead.read(from: stream) == nil, "a clean end between requests is no error")
    }

    @Test func eachMalformedHeadGetsItsStatus() {
        let cases: [(String, Int)] = [
            ("GET /\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
            ("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),  // space before the colon
            ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\u{1}\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: x\r\n", 400),  // ends inside the head
            ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400),
            ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: x\r\n\r\n", 414),
            ("GET / HTTP/1.1\r\nHost: x\r\nBig: \(String(repeating: "b", count: 20_000))\r\n\r\n", 431),
            ("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "A: b\r\n", count: 100) + "\r\n", 431),
        ]
        for (text, status) in cases {
            #expect(refusal(text)?.status.code == status, "\(text.prefix(60).debugDescription)")
        }
        #expect(refusal("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "A: b\r\n", count: 99) + "\r\n") == nil)
    }

    @Test func aTimeoutInsideTheHeadIsTheConnectionsErrorNotA400() throws {
        /// Part of a head, then the read deadline passes: the server answers that with 408.
        final class Stalls: ByteReader {
            var sent = false
            func read(into buffer: inout [UInt8]) throws(NetError) -> Int {
                guard !sent else { throw NetError(op: "read", network: "test", remote: nil, reason: .timeout) }
                sent = true
                let part = Array("GET / HTTP/1.1\r\nHo".utf8)
                buffer.replaceSubrange(0..<part.count, with: part)
                return part.count
            }
            func readFailure(_ reason: String) -> NetError {
                NetError(op: "read", network: "test", remote: nil, reason: .other(reason))
            }
        }
        do {
            _ = try RequestHead.read(from: BufferedReader(Stalls()))
            Issue.record("a head cut off by a timeout was accepted")
        } catch let error as NetError {
            #expect(error.isTimeout)
        }
    }

    @Test func aBodyAfterTheHeadIsReadFromTheSameBuffer() throws {
        let stream = reader("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET", chunk: 4096)
        _ = try #require(try RequestHead.read(from: stream))
        #expect(try stream.read(upTo: 100) == Array("helloGET".utf8), "what was buffered, and no more reads")
        #expect(try stream.read(upTo: 100) == [] && !(try stream.waitForByte()))
    }

    @Test func theHeadLimitCountsEveryLine() {
        var limits = HeadLimits()
        limits.headBytes = 100
        let fields = (1...9).map { "F\($0): 123456\r\n" }.joined()  // 9 × 12 bytes after the request line
        #expect(refusal("GET / HTTP/1.1\r\nHost: x\r\n\(fields)\r\n", limits: limits)?.status.code == 431)
        #expect(refusal("GET / HTTP/1.1\r\nHost: x\r\n\r\n", limits: limits) == nil)
    }
}

@Suite struct HTTPStaticRoot {
    /// root/{index.html, a.css, sub/index.html, leak.txt → ../secret.txt, inside → sub},
    /// and secret.txt and root-private/x.txt beside the root.
    static func site() throws -> (root: StaticRoot, base: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("static-\(UUID().uuidString)").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: base + "/root/sub", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: base + "/root-private", withIntermediateDirectories: true)
        for file in ["root/index.html", "root/a.css", "root/sub/index.html", "secret.txt", "root-private/x.txt"] {
            try "x".write(toFile: "\(base)/\(file)", atomically: true, encoding: .utf8)
        }
        try fm.createSymbolicLink(atPath: base + "/root/leak.txt", withDestinationPath: "../secret.txt")
        try fm.createSymbolicLink(atPath: base + "/root/inside", withDestinationPath: "sub")
        try fm.createSymbolicLink(atPath: base + "/root/up", withDestinationPath: "..")
        return (try #require(StaticRoot(base + "/root")), base)
    }

    @Test func filesUnderTheRootAreFound() throws {
        let (root, base) = try Self.site()
        defer { try? FileManager.default.removeItem(atPath: base) }
        let real = root.directory
        #expect(try root.file(for: "/").get() == real + "/index.html")
        #expect(try root.file(for: "/a.css?v=2").get() == real + "/a.css")
        #expect(try root.file(for: "/sub/").get() == real + "/sub/index.html")
        #expect(try root.file(for: "/%61.css").get() == real + "/a.css")
        #expect(try root.file(for: "/./sub/./index.html").get() == real + "/sub/index.html")
        #expect(try root.file(for: "/inside/index.html").get() == real + "/sub/index.html", "a link inside is fine")
        #expect(
            MediaType.of("/x/a.CSS") == "text/css; charset=utf-8"
                && MediaType.of("/x/.bashrc").hasPrefix("application/"))
    }

    @Test(arguments: [
        "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt",
        "/%2e%2e%2fsecret.txt", "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/leak.txt",
        "/up/secret.txt", "/up/root-private/x.txt", "/../root-private/x.txt", "//etc/passwd", "/%00", "/%zz",
        "/%2", "secret.txt", "/nope",
    ])
    func noPathLeavesTheRoot(target: String) throws {
        let (root, base) = try Self.site()
        defer { try? FileManager.default.removeItem(atPath: base) }
        switch root.file(for: target) {
        case .success(let path): Issue.record("\(target) was served from \(path)")
        case .failure(let error): #expect([400, 404].contains(error.status.code), "\(target): \(error)")
        }
    }
}
