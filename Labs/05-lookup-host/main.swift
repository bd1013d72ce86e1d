import DNS
// Lab 5: lookup-host. Name to addresses two ways: through getaddrinfo, the system's
// resolver (what Go's net.LookupHost uses when it goes through C), and through our own
// stub resolver, which writes a DNS query itself, sends it over UDP to one DNS server,
// and reads the reply byte by byte.
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "lookup-host",
    usage: """
        lookup-host: a name to every address it has, IPv4 and IPv6, like Go's net.LookupHost.

        usage:
          lookup-host                  run the demo on loopback (what `make lab-5` does)
          lookup-host NAME             ask getaddrinfo; print each address once, one per line,
                                       in getaddrinfo's order
          lookup-host --server ADDR [--timeout D] [--attempts N] NAME
                                       ask the DNS server at ADDR (numeric host:port) ourselves:
                                       an A query, then an AAAA query, over UDP (TCP if the reply
                                       is truncated); each try waits D (default 2s), N tries
                                       (default 2)
          lookup-host --help           this text

        A failure prints Go's error (`lookup NAME: no such host`,
        `lookup NAME on ADDR: i/o timeout`…) on stderr and exits 1.
        """)

lab.run { arguments in
    let server = try arguments.address("--server")
    let timeout = try arguments.duration("--timeout")
    let attempts = try arguments.count("--attempts")
    let names = arguments.positionals()
    try arguments.finish()
    guard let name = names.first else {
        if server != nil || timeout != nil || attempts != nil { throw UsageError("which NAME should be looked up?") }
        return try demo()
    }
    guard names.count == 1 else { throw UsageError("one NAME at a time, not \(names.count)") }
    if server == nil && (timeout != nil || attempts != nil) {
        throw UsageError("--timeout and --attempts go with --server")
    }
    if let timeout, timeout <= .zero { throw UsageError("--timeout must be more than 0s") }
    for address in try lookup(name, server: server, timeout: timeout ?? .seconds(2), attempts: attempts ?? 2) {
        say(address)
    }
}

// ANCHOR: lookup
/// Go's `net.LookupHost(name)`: through getaddrinfo, or through our stub resolver when a
/// DNS server is named. Either way: a list of addresses, or an error, never both.
func lookup(_ name: String, server: String?, timeout: Duration, attempts: Int) throws -> [String] {
    guard let server else { return try Resolver.lookupHost(name) }
    let address: Address
    do { address = try Address(server) } catch { throw UsageError("--server: \(error)") }
    guard address.port != 0 else { throw UsageError("--server: \(server) has no port (DNS uses 53)") }
    return try lookupHost(name, asking: StubResolver(server: address, timeout: timeout, attempts: attempts))
}
// ANCHOR_END: lookup

// ANCHOR: addresses
/// The addresses in `reply` that answer `question`: start at its name, follow CNAME records
/// (each name at most once, so a CNAME loop ends, and at most `DNSMessage.maxCNAMEs`, as
/// one reply can hold thousands), and take the records of the asked type owned by the last
/// name reached. Records about other names are ignored: a server may only tell us about
/// what we asked.
func addresses(in reply: DNSMessage, answering question: DNSQuestion) -> [IP] {
    // BEGIN SOLUTION: follow the CNAME chain from the asked name (each name once, at most DNSMessage.maxCNAMEs steps, each step a dictionary lookup), then take the addresses of the asked type owned by its last name, each once § A stub resolver of our own
    let records = reply.answers.filter { $0.dnsClass == question.dnsClass }
    var aliases: [DNSName: DNSName] = [:]  // owner → target: each step one lookup, not a scan
    for record in records where record.type == .cname {
        if case .name(let target) = record.data, aliases[record.name] == nil { aliases[record.name] = target }
    }
    var name = question.name
    var visited: Set<DNSName> = [name]
    while visited.count <= DNSMessage.maxCNAMEs, let target = aliases[name], visited.insert(target).inserted {
        name = target
    }
    var found: [IP] = []
    for record in records where record.type == question.type && record.name == name {
        if case .address(let ip) = record.data, !found.contains(ip) { found.append(ip) }
    }
    return found
    // END SOLUTION
}
// ANCHOR_END: addresses

// ANCHOR: lookup-host
/// `LookupHost` against one DNS server, on top of the stub's `exchange` (one question,
/// with its tries): the A addresses, then the AAAA ones. Our own shortcut, not Go's (Go
/// asks both at once): a reply saying the name does not exist, or a server that does not
/// answer at all, ends the lookup without the second query.
func lookupHost(_ name: String, asking resolver: StubResolver) throws(LookupError) -> [String] {
    if IP(name) != nil { return [name] }  // numeric: as written, nobody asked
    guard let qname = DNSName(name) else { throw LookupError(name: name, reason: "no such host", isNotFound: true) }
    var found: [IP] = []
    var lastError = LookupError(
        name: name, reason: "no such host", isNotFound: true, server: resolver.server.description)
    for type in [DNSType.a, .aaaa] {
        let question = DNSQuestion(qname, type)
        // BEGIN SOLUTION: ask the question (resolver.exchange) and add the addresses that answer it; NXDOMAIN or a timeout ends the lookup, any other failure lets the AAAA query try § A stub resolver of our own
        do {
            let reply = try resolver.exchange(question)
            for ip in addresses(in: reply, answering: question) where !found.contains(ip) { found.append(ip) }
        } catch {
            lastError = LookupError(
                name: name, reason: error.reason, isNotFound: error.isNotFound,
                isTimeout: error.isTimeout, server: error.server)
            // No such name, or no server answering: asking for AAAA would not help.
            if found.isEmpty && (error.isNotFound || error.isTimeout) { break }
        }
        // END SOLUTION
    }
    guard !found.isEmpty else { throw lastError }
    return found.map(\.description)
}
// ANCHOR_END: lookup-host
