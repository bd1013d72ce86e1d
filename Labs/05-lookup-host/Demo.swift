import DNS
// The demo: getaddrinfo on names this machine answers itself, then our stub resolver
// against a DNS server of our own on loopback. Nothing leaves the machine: no name the
// system's resolver would send to a real DNS server is ever looked up.
import Foundation
import LabKit
import Sockets

func demo() throws {
    say("== 1. getaddrinfo: the system's resolver ==")
    systemResolver()
    say("")
    say("== 2. our stub resolver, asking a DNS server on loopback ==")
    try stubResolver()
}

// ANCHOR: system
func systemResolver() {
    // Where glibc looks, in order: nsswitch.conf's `hosts:` line names the sources.
    let nsswitch = (try? String(contentsOfFile: "/etc/nsswitch.conf", encoding: .utf8)) ?? ""
    let hostsLine = nsswitch.split(separator: "\n").first { $0.hasPrefix("hosts:") }
    say("/etc/nsswitch.conf: \(hostsLine.map { $0.split(separator: " ").joined(separator: " ") } ?? "(no hosts line)")")
    // `localhost` is safe to ask about only if /etc/hosts has it: otherwise glibc would
    // send the question to the DNS server in /etc/resolv.conf.
    let hosts = (try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? ""
    let localhostLines = hosts.split(separator: "\n").filter {
        !$0.hasPrefix("#") && $0.split(whereSeparator: \.isWhitespace).dropFirst().contains("localhost")
    }
    for line in localhostLines {
        say("/etc/hosts: \(line.split(whereSeparator: \.isWhitespace).joined(separator: " "))")
    }
    var names = ["127.0.0.1", "::1", "no..such"]
    if !localhostLines.isEmpty { names.insert("localhost", at: 0) }
    for name in names {
        do {
            say("LookupHost(\"\(name)\") = [\(try Resolver.lookupHost(name).joined(separator: " "))], <nil>")
        } catch {
            say("LookupHost(\"\(name)\") = [], \(error)")
        }
    }
    say("=> a list of every address, IPv4 and IPv6, plus an error; numeric names come back as they are,")
    say("   and a name that cannot be a DNS name is refused before any resolver is asked")
}
// ANCHOR_END: system

// ANCHOR: zone
/// The demo's zone. `test.` is reserved for testing (RFC 2606): no real DNS server answers for it.
func demoZone() -> Zone {
    func name(_ text: String) -> DNSName { DNSName(text)! }  // our own constants, all valid
    let hello = name("hello.test")
    return Zone(
        records: [
            .cname(name("www.hello.test"), hello),
            .address(hello, IP("127.0.0.7")!),
            .address(hello, IP("127.0.0.8")!),
            .address(hello, IP("2001:db8::7")!),
        ],
        failing: [name("broken.test")],
        silent: [name("silent.test")])
}
// ANCHOR_END: zone

func stubResolver() throws {
    let server = try TinyDNSServer(demoZone())
    defer { server.stop() }
    say("a tiny DNS server for the zone test. is listening on udp \(server.address); it holds:")
    for record in server.zone.records {
        say("  \(record.name.description.padded(15)) \(record.type.description.padded(6)) \(shownData(record.data))")
    }
    say("  broken.test     (answers SERVFAIL)    silent.test  (never answers)    any other name  (NXDOMAIN)")
    say("")

    // ANCHOR: stub
    let resolver = StubResolver(server: server.address)
    let addresses = try lookupHost("www.hello.test", asking: resolver)
    // ANCHOR_END: stub
    let exchanges = server.exchanges
    if let first = exchanges.first, let reply = first.reply {
        say("the A query our stub sent for www.hello.test, \(first.query.count) bytes:")
        annotate(first.query).forEach(say)
        say("the server's reply, \(reply.count) bytes:")
        annotate(reply).forEach(say)
        say("")
    }
    if exchanges.count == 2, let second = exchanges.last {
        say(
            "then an AAAA query (\(second.query.count) bytes; \(second.reply?.count ?? 0) back), and the two answers together:"
        )
    }
    say("LookupHost(\"www.hello.test\") on \(server.address) = [\(addresses.joined(separator: " "))], <nil>")
    say("")

    // ANCHOR: errors
    let impatient = StubResolver(server: server.address, timeout: .milliseconds(250), attempts: 2)
    for (name, asker) in [("nosuch.test", resolver), ("broken.test", resolver), ("silent.test", impatient)] {
        let before = server.exchanges.count
        let start = ContinuousClock.now
        do {
            let found = try lookupHost(name, asking: asker)
            say("LookupHost(\"\(name)\") = [\(found.joined(separator: " "))], <nil>")
        } catch {
            say("LookupHost(\"\(name)\") = [], \(error)")
        }
        let sent = server.exchanges.count - before
        say(
            "   \(sent) \(sent == 1 ? "query" : "queries") sent, \(shown(ContinuousClock.now - start)): \(explain(name))"
        )
    }
    // ANCHOR_END: errors
}

func explain(_ name: String) -> String {
    switch name {
    case "nosuch.test": "NXDOMAIN (RCODE 3) is final: no retry, no AAAA query"
    case "broken.test": "SERVFAIL (RCODE 2) is worth another try: 2 tries for A, 2 for AAAA"
    default: "no reply: each of 2 tries waited 250ms (a short timeout, for the demo), then it gave up"
    }
}

func shownData(_ data: DNSRecord.Data) -> String {
    switch data {
    case .address(let ip): ip.description
    case .name(let name): name.description
    case .raw(let bytes): "\(bytes.count) bytes"
    }
}

extension String {
    func padded(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
