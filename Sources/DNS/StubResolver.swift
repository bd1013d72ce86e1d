// A stub resolver: what sits behind getaddrinfo when /etc/hosts does not know a name. It
// does not resolve anything itself; it asks one recursive DNS server (the `nameserver` of
// /etc/resolv.conf) and reads the answer. The exchange is Go's: a fresh connected UDP
// socket and a random ID for each try, replies that do not match the query ignored (they
// may be forged), a deadline per try, a few tries, TCP when the reply is truncated.

import Sockets

public struct StubResolver: Sendable {
    /// The DNS server to ask, e.g. `127.0.0.1:53`.
    public let server: Address
    /// How long each try waits for its reply (resolv.conf's `timeout`).
    public let timeout: Duration
    /// How many tries before giving up (resolv.conf's `attempts`).
    public let attempts: Int

    /// A zero or negative timeout means the default, 2 s; attempts are at least 1.
    public init(server: Address, timeout: Duration = .seconds(2), attempts: Int = 2) {
        self.server = server
        self.timeout = timeout > .zero ? timeout : .seconds(2)
        self.attempts = max(1, attempts)
    }

    // ANCHOR: lookup
    /// Go's `LookupHost` against one DNS server: the A addresses, then the AAAA ones.
    public func lookupHost(_ name: String) throws(LookupError) -> [String] {
        if IP(name) != nil { return [name] }  // numeric: as written, nobody asked
        return try lookupIP(name).map(\.description)
    }

    public func lookupIP(_ name: String) throws(LookupError) -> [IP] {
        if let ip = IP(name) { return [ip] }
        guard let qname = DNSName(name) else { throw .noSuchHost(name) }
        var found: [IP] = []
        var lastError = LookupError.noSuchHost(name, server: server.description)
        for type in [DNSType.a, .aaaa] {
            let question = DNSQuestion(qname, type)
            do {
                let reply = try exchange(question)
                for ip in reply.addresses(answering: question).addresses where !found.contains(ip) { found.append(ip) }
            } catch {
                lastError = error.named(name)
                // No such name, or no server answering: asking for AAAA would not help.
                if found.isEmpty && (error.isNotFound || error.isTimeout) { break }
            }
        }
        guard !found.isEmpty else { throw lastError }
        return found
    }
    // ANCHOR_END: lookup

    // ANCHOR: exchange
    /// Asks one question and returns the reply, trying up to `attempts` times. A reply
    /// saying the name does not exist is final; a timeout, a failing server or an
    /// unreadable reply is worth another try.
    public func exchange(_ question: DNSQuestion) throws(LookupError) -> DNSMessage {
        var lastError: LookupError?
        for _ in 0..<attempts {
            do {
                let reply = try roundTrip(question)
                try check(reply, question)
                return reply
            } catch  where error.isNotFound {
                throw error
            } catch {
                lastError = error
            }
        }
        throw lastError ?? failure(question, "no answer")
    }

    /// One try: UDP first; if the reply has the TC bit (it did not fit), again over TCP.
    func roundTrip(_ question: DNSQuestion) throws(LookupError) -> DNSMessage {
        let query = DNSMessage.query(question, id: UInt16.random(in: 0...UInt16.max))
        if let reply = try overUDP(query, question) { return reply }
        return try overTCP(query, question)
    }
    // ANCHOR_END: exchange

    // ANCHOR: udp
    /// socket, connect (so the kernel drops datagrams from anyone but the server), send,
    /// then poll and recv until the reply to *this* query arrives or the deadline passes.
    /// nil: the reply was truncated (TC), so only TCP can carry it.
    func overUDP(_ query: DNSMessage, _ question: DNSQuestion) throws(LookupError) -> DNSMessage? {
        let socket: Socket
        do {
            socket = try Socket(family: server.family, type: .datagram)
            _ = try socket.connect(server)
        } catch {
            throw failure(question, NetError(op: "dial", network: "udp", remote: server.description, error))
        }
        defer { socket.close() }
        let local = try? socket.localAddress()
        func netFailure(_ op: String, _ reason: NetError.Reason) -> LookupError {
            failure(
                question, NetError(op: op, network: "udp", local: local, remote: server.description, reason: reason),
                isTimeout: reason == .timeout)
        }
        let deadline = Deadline.after(timeout)
        let bytes = query.encoded()
        do {
            _ = try bytes.withUnsafeBytes { all in Result { () throws(SystemError) in try socket.send(all) } }.get()
        } catch {
            throw netFailure("write", .system(error))
        }
        var buffer = [UInt8](repeating: 0, count: 65_535)
        while true {
            let received: Int?
            do { received = try receive(on: socket, into: &buffer, until: deadline) } catch {
                throw netFailure("read", .system(error))  // e.g. connection refused: nothing on that port
            }
            guard let count = received else { throw netFailure("read", .timeout) }
            let datagram = Array(buffer.prefix(count))
            // Not a reply to this query (another ID, another question, not even a header):
            // ignore it and keep waiting, as Go does, so a forger cannot end the lookup.
            guard let header = DNSMessage.matchingHeader(datagram, query) else { continue }
            // A truncated reply may be cut anywhere, even inside a record: do not parse it.
            if header.truncated { return nil }
            let reply: DNSMessage
            do { reply = try DNSMessage(parsing: datagram) } catch {
                throw failure(question, "cannot unmarshal DNS message")
            }
            // The deadline covers reading the reply, not only waiting for it.
            guard !deadline.hasPassed else { throw netFailure("read", .timeout) }
            return reply
        }
    }
    // ANCHOR_END: udp

    /// One datagram: poll until readable, then recv without waiting. nil: the deadline passed.
    private func receive(on socket: Socket, into buffer: inout [UInt8], until deadline: Deadline) throws(SystemError)
        -> Int?
    {
        while true {
            guard try socket.wait(for: .readable, until: deadline) else { return nil }
            let result = try buffer.withUnsafeMutableBytes { bytes in
                Result { () throws(SystemError) in try socket.read(into: bytes, dontWait: true) }
            }.get()
            if case .done(let count) = result { return count }
        }
    }

    /// DNS over TCP (RFC 1035 §4.2.2): each message preceded by its length in two bytes.
    func overTCP(_ query: DNSMessage, _ question: DNSQuestion) throws(LookupError) -> DNSMessage {
        let message = query.encoded()
        do {
            let conn = try Dialer(timeout: timeout).dial("tcp", server.description)
            defer { conn.close() }
            let deadline = Deadline.after(timeout)
            conn.setReadDeadline(deadline)
            conn.setWriteDeadline(deadline)
            try conn.write([UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message)
            guard let prefix = try readFull(conn, 2) else { throw failure(question, "EOF") }
            guard let reply = try readFull(conn, Int(prefix[0]) << 8 | Int(prefix[1])) else {
                throw failure(question, "unexpected EOF")
            }
            guard DNSMessage.matches(reply, query) else { throw failure(question, "invalid DNS response") }
            do { return try DNSMessage(parsing: reply) } catch {
                throw failure(question, "cannot unmarshal DNS message")
            }
        } catch let error as NetError {
            throw failure(question, error, isTimeout: error.isTimeout)
        } catch let error as LookupError {
            throw error
        } catch {
            throw failure(question, "\(error)")
        }
    }

    /// Exactly `count` bytes, or nil if the server closed the connection first.
    private func readFull(_ conn: Connection, _ count: Int) throws(NetError) -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count < count {
            let chunk = try conn.read(maxLength: count - bytes.count)
            if chunk.isEmpty { return nil }
            bytes += chunk
        }
        return bytes
    }

    // ANCHOR: check
    /// What the header's RCODE and flags say, in Go's words.
    func check(_ reply: DNSMessage, _ question: DNSQuestion) throws(LookupError) {
        switch reply.header.rcode {
        case .nameError:
            throw .noSuchHost(question.name.description, server: server.description)
        case .noError:
            // No answer, no referral, and a server that neither recurses nor owns the zone:
            // a "lame" server that cannot help (libresolv moves on too).
            if !reply.header.authoritative && !reply.header.recursionAvailable
                && reply.answers.isEmpty && reply.additionals.isEmpty
            {
                throw failure(question, "lame referral")
            }
        default:  // SERVFAIL, REFUSED, …: none is an answer to a good query
            throw failure(question, "server misbehaving")
        }
    }
    // ANCHOR_END: check

    private func failure(_ question: DNSQuestion, _ reason: String) -> LookupError {
        LookupError(name: question.name.description, reason: reason, isNotFound: false, server: server.description)
    }

    private func failure(_ question: DNSQuestion, _ error: NetError, isTimeout: Bool = false) -> LookupError {
        LookupError(
            name: question.name.description, reason: error.description, isNotFound: false,
            isTimeout: isTimeout, server: server.description)
    }
}

extension DNSMessage {
    /// Is `datagram` the reply to `query`? A response (QR set) with the same ID and the
    /// same question (the name compared without regard to case).
    public static func matches(_ datagram: [UInt8], _ query: DNSMessage) -> Bool {
        matchingHeader(datagram, query) != nil
    }

    /// The header of `datagram` if it is the reply to `query`, read without the rest.
    static func matchingHeader(_ datagram: [UInt8], _ query: DNSMessage) -> DNSHeader? {
        guard let (header, question) = try? peek(datagram) else { return nil }
        return header.isResponse && header.id == query.header.id && query.questions.first == question ? header : nil
    }
}
