// Fault 2 of issue 10: one reply holding a chain of about 3,000 CNAMEs cost seconds of
// CPU, because each step of the walk scanned the answers from the start. The walk is now
// one dictionary lookup per step and stops after `DNSMessage.maxCNAMEs` aliases.
import DNS
import Foundation
import Sockets
import Synchronization
import Testing

@Suite struct LongCNAMEChainTests {
    /// `start.chain.test` → `0.chain.test` → … → `N-1.chain.test`, which has 192.0.2.1.
    static func chain(_ length: Int, for question: DNSQuestion) -> [DNSRecord] {
        let names = (0..<length).map { DNSName("\($0).chain.test")! }
        var records: [DNSRecord] = []
        var owner = question.name
        for name in names {
            records.append(.cname(owner, name))
            owner = name
        }
        return records + [.address(owner, IP("192.0.2.1")!)]
    }

    static let start = DNSQuestion(DNSName("start.chain.test")!, .a)

    @Test func aChainUpToTheBoundIsFollowed() {
        let reply = DNSMessage.query(Self.start, id: 1).reply(
            answers: Self.chain(DNSMessage.maxCNAMEs, for: Self.start))
        #expect(reply.addresses(answering: Self.start).addresses == [IP("192.0.2.1")!])
    }

    @Test func aLongerChainIsCutAtTheBound() {
        let reply = DNSMessage.query(Self.start, id: 1).reply(
            answers: Self.chain(DNSMessage.maxCNAMEs + 1, for: Self.start))
        let (addresses, end) = reply.addresses(answering: Self.start)
        #expect(addresses.isEmpty)
        #expect(end == DNSName("\(DNSMessage.maxCNAMEs - 1).chain.test")!)
    }

    /// The walk alone, over a reply as big as a datagram gets: it was seconds, now it is
    /// milliseconds (two seconds is generous on a loaded machine; the quadratic walk took seconds).
    @Test func walkingThreeThousandAliasesIsCheap() throws {
        let reply = DNSMessage.query(Self.start, id: 1).reply(answers: Self.chain(3000, for: Self.start))
        let parsed = try DNSMessage(parsing: reply.encoded())
        let clock = ContinuousClock()
        let time = clock.measure { _ = parsed.addresses(answering: Self.start) }
        #expect(time < generous(.seconds(2)), "walking the chain took \(time)")
    }

    /// The lab against a peer that answers every query with a ~3,000-CNAME chain in one
    /// datagram: it must give up as fast as for any other unusable answer.
    @Test func lookupHostGivesUpQuickly() async throws {
        let peer = try ChainPeer(length: 2900)
        defer { peer.stop() }
        let size = peer.replySize(for: Self.start)
        #expect(size > 60_000 && size <= 65_507, "the reply should fill a datagram: \(size) bytes")
        let started = ContinuousClock.now
        let run = try await runLab(
            "lookup-host", ["--server", peer.address.description, "--timeout", "10s", "start.chain.test"])
        let time = ContinuousClock.now - started
        #expect(run.status == 1, "stderr: \(run.stderr)")
        #expect(run.stderr == "lookup start.chain.test on \(peer.address): no such host\n")
        #expect(peer.queries == 2, "one A query, one AAAA query, each answered at once")
        #expect(time < generous(.seconds(10)), "the lookup took \(time) (it took 23 s before the fix)")
    }

    /// The module's own resolver, the same reply.
    @Test func stubResolverGivesUpQuickly() async throws {
        let peer = try ChainPeer(length: 2900)
        defer { peer.stop() }
        let resolver = StubResolver(server: peer.address, timeout: .seconds(5), attempts: 1)
        let started = ContinuousClock.now
        let result = try await onThread {
            Result { () throws(LookupError) in try resolver.lookupIP("start.chain.test") }
        }
        #expect(throws: LookupError.self) { try result.get() }
        #expect(ContinuousClock.now - started < generous(.seconds(10)))
    }
}

/// A DNS server on 127.0.0.1 that answers every query with a long CNAME chain.
final class ChainPeer: Sendable {
    let conn: PacketConn
    let length: Int
    private let count = Mutex(0)
    private let stopping = Mutex(false)
    private let stopped = DispatchSemaphore(value: 0)

    init(length: Int) throws {
        conn = try PacketConn("udp", "127.0.0.1:0")
        self.length = length
        Thread { [self] in
            defer { stopped.signal() }
            while !stopping.withLock({ $0 }) {
                guard let (bytes, client) = try? conn.readFrom(until: .after(.milliseconds(50))), let client,
                    let query = try? DNSMessage(parsing: bytes), let question = query.questions.first
                else { continue }
                count.withLock { $0 += 1 }
                let reply = query.reply(answers: LongCNAMEChainTests.chain(length, for: question))
                try? conn.writeTo(reply.encoded(), client)
            }
        }.start()
    }

    var address: Address { conn.localAddress }
    var queries: Int { count.withLock { $0 } }

    func replySize(for question: DNSQuestion) -> Int {
        DNSMessage.query(question, id: 1).reply(answers: LongCNAMEChainTests.chain(length, for: question)).encoded()
            .count
    }

    func stop() {
        stopping.withLock { $0 = true }
        stopped.wait()
        conn.close()
    }
}
