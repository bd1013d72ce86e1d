import DNS
// A DNS server for checks: UDP on 127.0.0.1 port 0, answering from a few records under
// `test.` (reserved for testing, RFC 2606: no real server answers for it), on a thread of
// its own until the check ends. It keeps every question it was asked, so a check can count
// the queries a lab sent (one for NXDOMAIN, one per try for silence).
import Foundation
import Sockets
import Synchronization

public final class DNSPeer: Sendable {
    /// What the server knows, and the names it misbehaves for.
    public struct Zone: Sendable {
        public var records: [DNSRecord]
        /// Answered with SERVFAIL.
        public var failing: Set<DNSName> = []
        /// Never answered.
        public var silent: Set<DNSName> = []
        /// Records added to every answer about a name, whatever they are about (a server
        /// slipping in what nobody asked for).
        public var extras: [DNSName: [DNSRecord]] = [:]

        public init(
            records: [DNSRecord], failing: Set<DNSName> = [], silent: Set<DNSName> = [],
            extras: [DNSName: [DNSRecord]] = [:]
        ) {
            (self.records, self.failing, self.silent, self.extras) = (records, failing, silent, extras)
        }

        /// The reply to `query`, or nil to stay silent. CNAME chains are followed inside the
        /// zone, so one reply carries the aliases and the addresses at the end of the chain.
        func answer(_ query: DNSMessage) -> DNSMessage? {
            guard !query.header.isResponse, let question = query.questions.first else {
                return query.reply(rcode: .formatError)
            }
            if silent.contains(question.name) { return nil }
            if failing.contains(question.name) { return query.reply(rcode: .serverFailure) }
            var answers: [DNSRecord] = []
            var name = question.name
            while answers.count < 8, let alias = records.first(where: { $0.name == name && $0.type == .cname }),
                case .name(let target) = alias.data
            {
                answers.append(alias)
                name = target
            }
            answers += records.filter { $0.name == name && $0.type == question.type }
            answers += extras[question.name] ?? []
            let exists = records.contains { $0.name == name }
            var reply = query.reply(rcode: exists ? .noError : .nameError, answers: answers)
            reply.header.authoritative = true
            return reply
        }
    }

    private let conn: PacketConn
    private let zone: Zone
    private let asked = Mutex<[DNSQuestion]>([])
    private let stopping = Mutex(false)
    private let stopped = DispatchSemaphore(value: 0)

    init(_ zone: Zone) throws {
        conn = try PacketConn("udp", "127.0.0.1:0")
        self.zone = zone
        Thread { [self] in
            defer { stopped.signal() }
            while !stopping.withLock({ $0 }) {
                // Wake every 50 ms to notice `stop()`; a timeout here is not an error.
                guard let (bytes, client) = try? conn.readFrom(until: .after(.milliseconds(50))), let client,
                    let query = try? DNSMessage(parsing: bytes)
                else { continue }
                asked.withLock { $0 += query.questions.prefix(1) }
                if let reply = zone.answer(query) { try? conn.writeTo(reply.encoded(), client) }
            }
        }.start()
    }

    /// `127.0.0.1:PORT`
    public var address: Address { conn.localAddress }

    /// Every question asked so far, oldest first.
    public var questions: [DNSQuestion] { asked.withLock { $0 } }

    func stop() {
        stopping.withLock { $0 = true }
        stopped.wait()
        conn.close()
    }
}

extension CheckContext {
    /// A DNS server on 127.0.0.1 for `zone`, stopped when the check ends.
    public func dnsServer(_ zone: DNSPeer.Zone) throws -> DNSPeer {
        let server = try DNSPeer(zone)
        onCleanup { server.stop() }
        note("peer: DNS server on udp \(server.address) for the zone test.")
        return server
    }
}
