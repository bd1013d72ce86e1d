import DNS
// A DNS server small enough to read in one sitting, for the demo: it owns a made-up zone
// under `test.` (a top-level name reserved for testing, RFC 2606, that no real server
// answers for), listens on a UDP port the kernel picks on 127.0.0.1, and answers each
// query from its records. It keeps every query and reply so the demo can show them.
import Foundation
import LabKit
import Sockets
import Synchronization

/// What the server knows, and the names it misbehaves for (so the demo can show errors).
struct Zone: Sendable {
    var records: [DNSRecord]
    var failing: Set<DNSName> = []  // answered with SERVFAIL
    var silent: Set<DNSName> = []  // never answered

    // ANCHOR: answer
    /// The reply to `query`, or nil to stay silent. The CNAME chain is followed inside the
    /// zone, so one reply carries the aliases and the addresses at the end of the chain.
    func answer(_ query: DNSMessage) -> DNSMessage? {
        guard !query.header.isResponse, query.questions.count == 1, let question = query.questions.first else {
            return query.reply(rcode: .formatError)
        }
        if silent.contains(question.name) { return nil }
        if failing.contains(question.name) { return query.reply(rcode: .serverFailure) }
        var answers: [DNSRecord] = []
        var name = question.name
        while question.type != .cname, answers.count < 8,
            let alias = records.first(where: { $0.name == name && $0.type == .cname }),
            case .name(let target) = alias.data
        {
            answers.append(alias)
            name = target
        }
        answers += records.filter { $0.name == name && $0.type == question.type }
        let nameExists = records.contains { $0.name == name }
        var reply = query.reply(rcode: nameExists ? .noError : .nameError, answers: answers)
        reply.header.authoritative = true  // this server owns the zone: its word is final
        return reply
    }
    // ANCHOR_END: answer
}

/// One query the server received, and what it sent back (nil: nothing).
struct Exchange: Sendable {
    let query: [UInt8]
    let reply: [UInt8]?
}

final class TinyDNSServer: Sendable {
    let conn: PacketConn
    let zone: Zone
    private let log = Mutex<[Exchange]>([])
    private let stopping = Mutex(false)
    private let stopped = DispatchSemaphore(value: 0)

    /// Binds 127.0.0.1 port 0 (the kernel picks a free port) and serves on a thread.
    init(_ zone: Zone) throws {
        conn = try PacketConn("udp", "127.0.0.1:0")
        self.zone = zone
        _ = BackgroundThread("dns-server") { [self] in
            serve()
            stopped.signal()
        }
    }

    // ANCHOR: serve
    /// Read a datagram, parse it, answer it, send the reply back to whoever sent it.
    private func serve() {
        while !stopping.withLock({ $0 }) {
            // Wake every 50ms to notice `stop()`; a timeout here is not an error.
            guard let (bytes, client) = try? conn.readFrom(until: .after(.milliseconds(50))),
                let client
            else { continue }
            let query = try? DNSMessage(parsing: bytes)
            let reply = query.flatMap(zone.answer)?.encoded()
            log.withLock { $0.append(Exchange(query: bytes, reply: reply)) }
            if let reply { try? conn.writeTo(reply, client) }
        }
    }
    // ANCHOR_END: serve

    var address: Address { conn.localAddress }

    /// What the server received and sent, oldest first.
    var exchanges: [Exchange] { log.withLock { $0 } }

    func stop() {
        stopping.withLock { $0 = true }
        stopped.wait()
        conn.close()
    }
}
