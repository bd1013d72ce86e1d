// The DNS code of the module: names, messages (built and parsed, hostile ones included),
// the stub resolver against a DNS server this file starts on loopback, and getaddrinfo's
// errors. No test here asks the machine's configured resolver about anything.
import Foundation
import Synchronization
import Testing

@testable import DNS
@testable import Sockets

/// A DNS server on loopback for tests. Every datagram it receives goes to `respond` with
/// the query parsed (nil if it does not parse); the datagrams `respond` returns are sent
/// back, in order (none: silence). With `tcp`, it also serves DNS over TCP on the same
/// port, answering each query with `tcp(query)`.
final class FakeDNSServer: Sendable {
    let udp: PacketConn
    let tcp: Listener?
    private let log = Mutex<[[UInt8]]>([])
    private let stopping = Mutex(false)
    private let stopped = DispatchSemaphore(value: 0)

    init(
        host: String = "127.0.0.1",
        tcp answerOverTCP: (@Sendable (DNSMessage) -> DNSMessage)? = nil,
        _ respond: @escaping @Sendable (DNSMessage?, [UInt8]) -> [[UInt8]]
    ) throws {
        let bind = host.contains(":") ? "[\(host)]:0" : "\(host):0"
        var (firstUDP, firstTCP) = (try PacketConn("udp", bind), nil as Listener?)
        if answerOverTCP != nil {
            // The same port number for TCP; if another program holds it, take a new UDP port.
            for _ in 0..<20 {
                if let listener = try? Listener("tcp", firstUDP.localAddress.description) { firstTCP = listener; break }
                firstUDP = try PacketConn("udp", bind)
            }
            guard firstTCP != nil else { throw LabFailure("no port free for both UDP and TCP") }
        }
        (udp, tcp) = (firstUDP, firstTCP)
        threads = answerOverTCP == nil ? 1 : 2
        Thread { [self] in
            while !stopping.withLock({ $0 }) {
                guard let (bytes, client) = try? udp.readFrom(until: .after(.milliseconds(50))), let client else {
                    continue
                }
                log.withLock { $0.append(bytes) }
                for reply in respond(try? DNSMessage(parsing: bytes), bytes) { try? udp.writeTo(reply, client) }
            }
            stopped.signal()
        }.start()
        if let tcp, let answerOverTCP {
            Thread { [self] in
                while !stopping.withLock({ $0 }) {
                    guard (try? tcp.socket.wait(for: .readable, until: .after(.milliseconds(50)))) == true,
                        let conn = try? tcp.accept()
                    else { continue }
                    conn.setReadDeadline(.after(.seconds(5)))
                    if let prefix = try? conn.read(maxLength: 2), prefix.count == 2,
                        let body = try? conn.read(maxLength: Int(prefix[0]) << 8 | Int(prefix[1])),
                        let query = try? DNSMessage(parsing: body)
                    {
                        let reply = answerOverTCP(query).encoded()
                        try? conn.write([UInt8(reply.count >> 8), UInt8(reply.count & 0xFF)] + reply)
                    }
                    conn.close()
                }
                stopped.signal()
            }.start()
        }
    }

    private let threads: Int

    var address: Address { udp.localAddress }
    /// Every datagram received so far.
    var received: [[UInt8]] { log.withLock { $0 } }

    @available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
    func stop() {
        stopping.withLock { $0 = true }
        for _ in 0..<threads { stopped.wait() }
        udp.close()
        tcp?.close()
    }

    func stop() async { try? await onThread { [self] in stop() } }

    /// For a `defer` in an async test: stops the server on a thread of its own.
    func stopSoon() { Thread { [self] in stop() }.start() }
}

func name(_ text: String) -> DNSName { DNSName(text)! }  // test constants only

/// The usual zone of these tests: www.hello.test → alias.hello.test → hello.test, with two
/// A records and one AAAA record, and an A record for a name nobody asked about.
func helloAnswers(_ question: DNSQuestion) -> [DNSRecord] {
    let chain: [DNSRecord] = [
        .cname(name("www.hello.test"), name("alias.hello.test")),
        .cname(name("alias.hello.test"), name("hello.test")),
    ]
    let addresses: [DNSRecord] =
        question.type == .a
        ? [
            .address(name("hello.test"), IP("127.0.0.7")!), .address(name("hello.test"), IP("127.0.0.8")!),
            .address(name("evil.test"), IP("127.0.0.66")!),
        ]
        : [.address(name("hello.test"), IP("2001:db8::7")!)]
    return chain + addresses
}

/// A correct reply to `query` from a recursive server (RA set), with `answers`.
func goodReply(_ query: DNSMessage, rcode: DNSRCode = .noError, _ answers: [DNSRecord]) -> [UInt8] {
    var reply = query.reply(rcode: rcode, answers: answers)
    reply.header.recursionAvailable = true
    return reply.encoded()
}

/// Runs `body` against a fresh server, then stops the server.
func withServer<T: Sendable>(
    host: String = "127.0.0.1", tcp: (@Sendable (DNSMessage) -> DNSMessage)? = nil,
    _ respond: @escaping @Sendable (DNSMessage?, [UInt8]) -> [[UInt8]],
    _ body: @escaping @Sendable (FakeDNSServer) throws -> T
) async throws -> T {
    let server = try FakeDNSServer(host: host, tcp: tcp, respond)
    return try await onThread {
        defer { server.stop() }
        return try body(server)
    }
}

/// The error a lookup throws (nil if it succeeds), and how long it took.
func lookupFailure(_ resolver: StubResolver, _ name: String) -> (LookupError?, Duration) {
    let start = ContinuousClock.now
    do { _ = try resolver.lookupHost(name); return (nil, ContinuousClock.now - start) } catch {
        return (error, ContinuousClock.now - start)
    }
}

@Suite struct DNSNameTests {
    @Test(arguments: ["localhost", "hello.test", "hello.test.", "a-b.c_d.test", "x", "1a.test", "."])
    func goodNames(text: String) {
        #expect(DNSName(text) != nil)
    }

    @Test(arguments: [
        "", "a..b", ".a", "-a.test", "a-.test", "a b", "a\u{0}b", "caf\u{e9}.test", "1.2.3",
        String(repeating: "a", count: 64) + ".test", String(repeating: "a.", count: 127) + "ab",
    ])
    func badNames(text: String) {
        #expect(DNSName(text) == nil)
    }

    @Test func lengthLimitsAreRFC1035s() {
        let label63 = String(repeating: "a", count: 63)
        #expect(DNSName(label63 + ".test") != nil)
        let longest = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")  // 253
        #expect(longest.count == 253 && DNSName(longest)?.wireLength == 255)
        #expect(DNSName(longest + ".") != nil)
        #expect(DNSName(longest + "b") == nil)
    }

    @Test func namesCompareWithoutCaseAndPrintSafely() throws {
        #expect(name("Hello.TEST") == name("hello.test"))
        #expect(Set([name("Hello.TEST"), name("hello.test")]).count == 1)
        // A label read off the wire may hold any byte: printing escapes them.
        var reader = WireReader([3, 0x61, 0x2E, 0x1B, 1, 0x5C, 0])
        #expect(try reader.name().description == "a\\.\\027.\\\\")
    }
}

@Suite struct DNSMessageTests {
    @Test func aQueryIsTheBytesRFC1035Describes() {
        let query = DNSMessage.query(DNSQuestion(name("hello.test"), .a), id: 0xBEEF)
        let expected: [UInt8] =
            [
                0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                5,
            ] + Array("hello".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]
        #expect(query.encoded() == expected)
    }

    @Test func repliesAreCompressedAndReadBack() throws {
        let query = DNSMessage.query(DNSQuestion(name("www.hello.test"), .a), id: 7)
        var reply = query.reply(answers: helloAnswers(query.questions[0]))
        reply.header.authoritative = true
        let compressed = reply.encoded()
        let plain = reply.encoded(compress: false)
        #expect(compressed.count < plain.count)
        #expect(compressed[32...33] == [0xC0, 0x0C], "the first answer's name points at the question")
        #expect(try DNSMessage(parsing: compressed) == reply)
        #expect(try DNSMessage(parsing: plain) == reply)
    }

    @Test func theCNAMEChainIsFollowedAndStrangersIgnored() throws {
        let question = DNSQuestion(name("WWW.hello.test"), .a)
        let reply = DNSMessage.query(question, id: 1).reply(answers: helloAnswers(question))
        let (addresses, canonical) = reply.addresses(answering: question)
        #expect(addresses.map(\.description) == ["127.0.0.7", "127.0.0.8"])  // not evil.test's
        #expect(canonical == name("hello.test"))
        // A CNAME loop ends: each name is visited once.
        let loop = DNSMessage.query(question, id: 1).reply(answers: [
            .cname(name("www.hello.test"), name("b.test")), .cname(name("b.test"), name("www.hello.test")),
            .address(name("b.test"), IP("127.0.0.9")!),
        ])
        #expect(loop.addresses(answering: question).addresses.map(\.description) == ["127.0.0.9"])
        let tightLoop = DNSMessage.query(question, id: 1).reply(answers: [
            .cname(name("www.hello.test"), name("www.hello.test"))
        ])
        #expect(tightLoop.addresses(answering: question).addresses.isEmpty)
    }

    /// A header saying one question and one answer, then `body`.
    func message(_ body: [UInt8], answers: UInt8 = 1) -> [UInt8] {
        [0, 1, 0x81, 0x80, 0, 1, 0, answers, 0, 0, 0, 0] + body
    }

    // At offset 12, 16 bytes.
    static let question: [UInt8] = [5] + Array("hello".utf8) + [4] + Array("test".utf8) + [0, 0, 1, 0, 1]

    @Test(arguments: [
        // name (pointer), type A, class IN, TTL, RDLENGTH, RDATA — each broken in one way
        ("pointer to itself", question + [0xC0, 28, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]),
        ("two pointers to each other", question + [0xC0, 30, 0xC0, 28, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]),
        (
            "a label, then a pointer back to it",
            question + [1, 0x61, 0xC0, 28, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]
        ),
        ("pointer forward", question + [0xC0, 40, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]),
        ("pointer past the end", question + [0xFF, 0xFF, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]),
        ("label type 01", question + [0x41, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]),
        ("label runs past the end", question + [0x3F, 0x61]),
        ("A with 5 bytes", question + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 127, 0, 0, 1, 9]),
        ("RDLENGTH past the end", question + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 127, 0, 0, 1]),
        ("CNAME shorter than RDLENGTH", question + [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 1, 0, 4, 0xC0, 12, 0, 0]),
        ("bytes after the last record", question + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1, 0]),
    ])
    func hostileMessagesAreErrors(what: String, body: [UInt8]) {
        #expect(throws: DNSFormatError.self, "\(what)") { try DNSMessage(parsing: message(body)) }
    }

    @Test func longPointerChainsAreErrors() throws {
        // Answer k's name is a pointer to answer k-1's name: k pointers to reach the question.
        func answers(_ count: Int) -> [UInt8] {
            (0..<count).flatMap { k -> [UInt8] in
                let target = k == 0 ? 12 : 28 + 16 * (k - 1)
                return [0xC0, UInt8(target), 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, UInt8(k)]
            }
        }
        #expect(try DNSMessage(parsing: message(Self.question + answers(10), answers: 10)).answers.count == 10)
        #expect(throws: DNSFormatError.self, "11 pointers in one name") {
            try DNSMessage(parsing: message(Self.question + answers(11), answers: 11))
        }
    }

    @Test func namesLongerThan255BytesAreErrors() {
        // Four 63-byte labels: 257 bytes on the wire.
        let label = [63] + [UInt8](repeating: 0x61, count: 63)
        let body = label + label + label + label + [0, 0, 1, 0, 1]
        #expect(throws: DNSFormatError.self) { try DNSMessage(parsing: message(body, answers: 0)) }
    }

    @Test func oversizeCountsFailFast() {
        var body = message(Self.question + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1])
        for index in [4, 5, 6, 7, 8, 9, 10, 11] { body[index] = 0xFF }  // 65535 of everything
        let start = ContinuousClock.now
        #expect(throws: DNSFormatError.self) { try DNSMessage(parsing: body) }
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func everyTruncationOfAReplyIsAnError() throws {
        let query = DNSMessage.query(DNSQuestion(name("www.hello.test"), .a), id: 9)
        let reply = query.reply(answers: helloAnswers(query.questions[0])).encoded()
        for length in 0..<reply.count {
            #expect(throws: DNSFormatError.self, "first \(length) bytes") {
                try DNSMessage(parsing: Array(reply.prefix(length)))
            }
        }
        #expect(try DNSMessage(parsing: reply).answers.count == 5)
    }

    @Test func randomDamageNeverCrashesOrHangs() {
        let query = DNSMessage.query(DNSQuestion(name("www.hello.test"), .a), id: 9)
        let reply = query.reply(answers: helloAnswers(query.questions[0])).encoded()
        var random = SplitMix(seed: 0x5EED)
        var (parsed, refused) = (0, 0)
        let start = ContinuousClock.now
        for _ in 0..<20_000 {
            var bytes = reply
            for _ in 0...random.next(below: 4) {
                let index = random.next(below: bytes.count)
                switch random.next(below: 3) {
                case 0: bytes[index] = UInt8(random.next(below: 256))
                case 1: bytes[index] = [0xC0, 0x3F, 0xFF, 0x00][random.next(below: 4)]  // pointers, long labels, ends
                default: bytes = Array(bytes.prefix(index))
                }
                if bytes.isEmpty { break }
            }
            if (try? DNSMessage(parsing: bytes)) != nil { parsed += 1 } else { refused += 1 }
            _ = try? DNSMessage.peek(bytes)
        }
        #expect(parsed > 0 && refused > 0, "parsed \(parsed), refused \(refused)")
        #expect(ContinuousClock.now - start < generous(.seconds(60)))
    }
}

/// A small deterministic random number generator, so a failure can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(below bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

@Suite struct StubResolverTests {
    @Test(arguments: ["127.0.0.1", "::1"])
    func answersFollowTheCNAMEChain(host: String) async throws {
        let addresses = try await withServer(
            host: host,
            { query, _ in
                guard let query, let question = query.questions.first else { return [] }
                return [goodReply(query, helloAnswers(question))]
            }
        ) { server in try StubResolver(server: server.address).lookupHost("www.hello.test") }
        #expect(addresses == ["127.0.0.7", "127.0.0.8", "2001:db8::7"])
    }

    @Test func theQueryOnTheWireAsksForRecursion() async throws {
        let queries = try await withServer({ query, _ in
            query.map { [goodReply($0, helloAnswers($0.questions[0]))] } ?? []
        }) { server in
            _ = try StubResolver(server: server.address).lookupHost("WWW.hello.test")
            return server.received
        }
        let parsed = try queries.map { try DNSMessage(parsing: $0) }
        #expect(parsed.map { $0.questions[0].type } == [.a, .aaaa])
        #expect(parsed.allSatisfy { $0.header.recursionDesired && !$0.header.isResponse && $0.questions.count == 1 })
        #expect(
            parsed.allSatisfy {
                $0.questions[0].name.labels.map { String(decoding: $0, as: UTF8.self) } == ["WWW", "hello", "test"]
            })
    }

    @Test func nxdomainIsFinal() async throws {
        let (error, count, address) = try await withServer({ query, _ in
            query.map { [goodReply($0, rcode: .nameError, [])] } ?? []
        }) { server in
            (
                lookupFailure(StubResolver(server: server.address), "nosuch.test").0, server.received.count,
                server.address
            )
        }
        #expect(error?.description == "lookup nosuch.test on \(address): no such host")
        #expect(error?.isNotFound == true)
        #expect(count == 1, "NXDOMAIN for A: no retry and no AAAA query")
    }

    @Test func servfailIsRetriedThenServerMisbehaving() async throws {
        let (error, count, address) = try await withServer({ query, _ in
            query.map { [goodReply($0, rcode: .serverFailure, [])] } ?? []
        }) { server in
            (
                lookupFailure(StubResolver(server: server.address, attempts: 2), "broken.test").0,
                server.received.count, server.address
            )
        }
        #expect(error?.description == "lookup broken.test on \(address): server misbehaving")
        #expect(error?.isNotFound == false)
        #expect(count == 4, "two tries for A, two for AAAA")
    }

    @Test func refusedAndLameAnswersAreErrors() async throws {
        let refused = try await withServer({ query, _ in query.map { [goodReply($0, rcode: .refused, [])] } ?? [] }) {
            server in
            lookupFailure(StubResolver(server: server.address), "x.test").0?.reason
        }
        #expect(refused == "server misbehaving")
        let lame = try await withServer({ query, _ in query.map { [$0.reply().encoded()] } ?? [] }) { server in
            lookupFailure(StubResolver(server: server.address), "x.test").0?.reason
        }
        #expect(lame == "lame referral")
    }

    @Test func noAddressOfEitherTypeIsNoSuchHost() async throws {
        // The name exists (NOERROR) but has only an AAAA record, then none at all.
        let onlyV6 = try await withServer({ query, _ in
            guard let query else { return [] }
            let records: [DNSRecord] = query.questions[0].type == .aaaa ? [.address(name("v6.test"), IP("::1")!)] : []
            return [goodReply(query, records)]
        }) { server in try StubResolver(server: server.address).lookupHost("v6.test") }
        #expect(onlyV6 == ["::1"])
        let (none, address) = try await withServer({ query, _ in query.map { [goodReply($0, [])] } ?? [] }) { server in
            (lookupFailure(StubResolver(server: server.address), "empty.test").0, server.address)
        }
        #expect(none?.description == "lookup empty.test on \(address): no such host")
    }

    @Test func aSilentServerTimesOutAfterEachTry() async throws {
        let (failure, count, address) = try await withServer({ _, _ in [] }) { server in
            let (error, took) = lookupFailure(
                StubResolver(server: server.address, timeout: .milliseconds(200), attempts: 2), "silent.test")
            return ((error, took), server.received.count, server.address)
        }
        let (error, took) = failure
        #expect(error?.isTimeout == true)
        let text = try #require(error?.description)
        #expect(
            text.wholeMatch(
                of: try Regex(
                    "lookup silent\\.test on \(address): read udp 127\\.0\\.0\\.1:[0-9]+->\(address): i/o timeout"))
                != nil, "\(text)")
        #expect(count == 2, "two tries, then no AAAA query to a server that does not answer")
        #expect(took >= .milliseconds(390), "gave up after \(took), before two 200ms tries were over")
        #expect(took < .seconds(10))
    }

    @Test func aClosedPortIsRefused() async throws {
        let port = try await onThread { () -> UInt16 in
            let conn = try PacketConn("udp", "127.0.0.1:0")
            defer { conn.close() }
            return conn.localAddress.port
        }
        let server = try Address("127.0.0.1:\(port)")
        let (error, took) = try await onThread {
            lookupFailure(StubResolver(server: server, timeout: .seconds(5)), "x.test")
        }
        let text = try #require(error?.description)
        #expect(text.hasPrefix("lookup x.test on 127.0.0.1:\(port): read udp 127.0.0.1:"), "\(text)")
        #expect(text.hasSuffix("->127.0.0.1:\(port): read: connection refused"), "\(text)")
        #expect(took < .seconds(5), "the ICMP error ends the wait at once, not the timeout")
    }

    /// A silent-but-for-`junk` server: junk arrives, then (if `thenAnswer`) the real reply.
    func junkThenMaybeAnswer(_ junk: @escaping @Sendable (DNSMessage, [UInt8]) -> [UInt8], thenAnswer: Bool)
        async throws -> (LookupError?, [String])
    {
        try await withServer({ query, bytes in
            guard let query else { return [] }
            let real = goodReply(query, helloAnswers(query.questions[0]))
            return [junk(query, bytes)] + (thenAnswer ? [real] : [])
        }) { server in
            let resolver = StubResolver(server: server.address, timeout: .milliseconds(200), attempts: 2)
            do { return (nil, try resolver.lookupHost("www.hello.test")) } catch { return (error as? LookupError, []) }
        }
    }

    static let junk: [(String, @Sendable (DNSMessage, [UInt8]) -> [UInt8])] = [
        ("an empty datagram", { _, _ in [] }),
        ("three bytes", { _, _ in [1, 2, 3] }),
        ("random bytes", { _, _ in (0..<100).map { _ in UInt8.random(in: 0...255) } }),
        (
            "the wrong ID",
            { query, _ in
                var reply = query.reply(answers: helloAnswers(query.questions[0]))
                reply.header.recursionAvailable = true
                reply.header.id &+= 1
                return reply.encoded()
            }
        ),
        (
            "the wrong question",
            { query, _ in
                goodReply(
                    DNSMessage.query(DNSQuestion(name("evil.test"), query.questions[0].type), id: query.header.id),
                    [
                        .address(name("evil.test"), IP("127.0.0.66")!)
                    ])
            }
        ),
        (
            "the wrong type",
            { query, _ in
                let type: DNSType = query.questions[0].type == .a ? .aaaa : .a
                return goodReply(DNSMessage.query(DNSQuestion(query.questions[0].name, type), id: query.header.id), [])
            }
        ),
        ("the query sent back (QR=0)", { _, bytes in bytes }),
        ("a header cut short", { query, _ in Array(goodReply(query, []).prefix(7)) }),
        (
            "a pointer loop in the question",
            { query, _ in
                var reply = goodReply(query, [])
                reply.replaceSubrange(12..., with: [0xC0, 12, 0, 1, 0, 1])
                return reply
            }
        ),
    ]

    @Test(arguments: 0..<junk.count)
    func mismatchedRepliesAreIgnored(index: Int) async throws {
        let (what, junk) = Self.junk[index]
        // Alone, the junk is never taken for an answer: the lookup times out.
        let (error, _) = try await junkThenMaybeAnswer(junk, thenAnswer: false)
        #expect(error?.isTimeout == true, "\(what): \(String(describing: error))")
        // Followed by the real reply, the junk does not stop the lookup: the real one wins.
        let (_, addresses) = try await junkThenMaybeAnswer(junk, thenAnswer: true)
        #expect(addresses == ["127.0.0.7", "127.0.0.8", "2001:db8::7"], "\(what)")
    }

    @Test(arguments: ["cut in an answer", "pointer loop in an answer", "65535 answers"])
    func brokenRepliesToOurQueryAreErrors(what: String) async throws {
        let (error, count, address) = try await withServer({ query, _ in
            guard let query else { return [] }
            var bytes = goodReply(query, helloAnswers(query.questions[0]))
            switch what {
            case "cut in an answer": bytes.removeLast(3)
            case "pointer loop in an answer":  // the last record's name points at itself
                let last = bytes.count - (query.questions[0].type == .a ? 16 : 28)
                bytes.replaceSubrange(last..<last + 2, with: [0xC0, UInt8(last)])
            default: bytes[6...7] = [0xFF, 0xFF]
            }
            return [bytes]
        }) { server in
            (
                lookupFailure(StubResolver(server: server.address, timeout: .seconds(5)), "www.hello.test").0,
                server.received.count, server.address
            )
        }
        #expect(error?.description == "lookup www.hello.test on \(address): cannot unmarshal DNS message")
        #expect(count == 4, "each of two tries for A and for AAAA got an answer it could not read")
    }

    @Test func aTruncatedReplyIsAskedAgainOverTCP() async throws {
        let addresses = try await withServer(
            tcp: { query in
                var reply = query.reply(answers: helloAnswers(query.questions[0]))
                reply.header.recursionAvailable = true
                return reply
            },
            { query, _ in
                guard let query else { return [] }
                // Part of the answer only.
                var reply = query.reply(answers: [.cname(name("www.hello.test"), name("alias.hello.test"))])
                reply.header.truncated = true
                reply.header.recursionAvailable = true
                return [reply.encoded()]
            }
        ) { server in try StubResolver(server: server.address).lookupHost("www.hello.test") }
        #expect(addresses == ["127.0.0.7", "127.0.0.8", "2001:db8::7"])
    }

    @Test func aTruncatedReplyCutInsideARecordIsAskedAgainOverTCP() async throws {
        let addresses = try await withServer(
            tcp: { query in
                query.reply(answers: helloAnswers(query.questions[0]))
            },
            { query, _ in
                guard let query else { return [] }
                var reply = query.reply(answers: helloAnswers(query.questions[0]))
                reply.header.truncated = true
                return [Array(reply.encoded().dropLast(3))]  // cut where the datagram ran out
            }
        ) { server in try StubResolver(server: server.address).lookupHost("www.hello.test") }
        #expect(addresses == ["127.0.0.7", "127.0.0.8", "2001:db8::7"])
    }

    @Test func aTruncatedReplyWithoutTCPIsAnError() async throws {
        let (error, address) = try await withServer({ query, _ in
            guard let query else { return [] }
            var reply = query.reply()
            reply.header.truncated = true
            return [reply.encoded()]
        }) { server in (lookupFailure(StubResolver(server: server.address), "big.test").0, server.address) }
        #expect(error?.description == "lookup big.test on \(address): dial tcp \(address): connect: connection refused")
    }

    @Test func numericNamesAndBadNamesAskNobody() async throws {
        let (results, count) = try await withServer({ _, _ in [] }) { server in
            let resolver = StubResolver(server: server.address, timeout: .milliseconds(100))
            let numeric = try resolver.lookupHost("0:0::1") + resolver.lookupHost("127.0.0.1")
            let bad = lookupFailure(resolver, "no..such").0?.description
            return ((numeric, bad), server.received.count)
        }
        #expect(results.0 == ["0:0::1", "127.0.0.1"])
        #expect(results.1 == "lookup no..such: no such host")
        #expect(count == 0)
    }
}

@Suite struct GetaddrinfoTests {
    @Test func numericNamesComeBackAsWritten() throws {
        #expect(try Resolver.lookupHost("127.0.0.1") == ["127.0.0.1"])
        #expect(try Resolver.lookupHost("0:0::1") == ["0:0::1"])
        #expect(try Resolver.lookupIP("0:0::1") == [IP.loopbackV6])
    }

    @Test func localhostComesFromTheHostsFile() throws {
        let hosts = try String(contentsOfFile: "/etc/hosts", encoding: .utf8)
        try #require(
            hosts.split(separator: "\n").contains {
                !$0.hasPrefix("#") && $0.split(whereSeparator: \.isWhitespace).contains("localhost")
            },
            "this machine's /etc/hosts has no localhost: asking would go to DNS")
        let addresses = try Resolver.lookupIP("localhost")
        #expect(!addresses.isEmpty && addresses.allSatisfy(\.isLoopback))
        #expect(Set(addresses).count == addresses.count, "each address once")
    }

    @Test(arguments: ["", "no..such", "-x.test", "localhost\u{0}.example", String(repeating: "a", count: 64)])
    func namesThatCannotBeDNSNamesAreNoSuchHost(text: String) {
        // "localhost\0.example" would reach getaddrinfo as "localhost" (C stops at the NUL).
        #expect { try Resolver.lookupIP(text) } throws: { error in
            (error as? LookupError)?.description == "lookup \(text): no such host"
                && (error as? LookupError)?.isNotFound == true
        }
    }

    @Test func getaddrinfoErrorsReadLikeGo() {
        #expect(
            Resolver.lookupError("x.test", status: EAI_NONAME, errno: 0).description == "lookup x.test: no such host")
        #expect(Resolver.lookupError("x.test", status: Platform.noData, errno: 0).isNotFound)
        #expect(
            Resolver.lookupError("x.test", status: EAI_AGAIN, errno: 0).description
                == "lookup x.test: Temporary failure in name resolution")
        #expect(
            Resolver.lookupError("x.test", status: EAI_FAIL, errno: 0).description
                == "lookup x.test: Non-recoverable failure in name resolution")
        #expect(
            Resolver.lookupError("x.test", status: EAI_SYSTEM, errno: EMFILE).description
                == "lookup x.test: too many open files")
        #expect(!Resolver.lookupError("x.test", status: EAI_AGAIN, errno: 0).isNotFound)
    }
}

extension DescriptorLeaks {
    @Test func stubResolverClosesEverySocket() async throws {
        let server = try FakeDNSServer({ query, bytes in
            guard let query else { return [] }
            switch query.questions[0].name.description {
            case "silent.test": return []
            case "garbage.test": return [[1, 2, 3]]
            case "big.test": var reply = query.reply(); reply.header.truncated = true; return [reply.encoded()]
            default: return [goodReply(query, helloAnswers(query.questions[0]))]
            }
        })
        let before = openDescriptorCount()
        try await onThread {
            let resolver = StubResolver(server: server.address, timeout: .milliseconds(50), attempts: 2)
            for _ in 0..<10 { _ = try resolver.lookupHost("www.hello.test") }
            for name in ["silent.test", "garbage.test", "big.test", "no..such"] { _ = try? resolver.lookupHost(name) }
            _ = try? Resolver.lookupHost("localhost")
        }
        #expect(openDescriptorCount() == before, "descriptors before: \(before), after: \(openDescriptorCount())")
        await server.stop()  // its own sockets were open before `before`: close them after counting
    }
}
