// Lab 5: lookup-host. Name to addresses two ways: through getaddrinfo, the system's
// resolver (what Go's net.LookupHost uses when it goes through C), and through our own
// stub resolver, which writes a DNS query itself, sends it over UDP to one DNS server,
// and reads the reply byte by byte.
import Foundation
import LabKit
import Sockets

let lab = Lab(name: "lookup-host", usage: """
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
    return try StubResolver(server: address, timeout: timeout, attempts: attempts).lookupHost(name)
}
// ANCHOR_END: lookup
