// Lab 9: a TLS client that checks who it is talking to. The server's certificate must
// chain to a root we trust, be in date, and name the host we dialed; otherwise the
// handshake fails with a line saying which. `--insecure` skips all of that, and the
// demo shows what it then connects to.
import Foundation
import LabKit
import Sockets
import TLS
import TestPKI

let lab = Lab(
    name: "tls-client",
    usage: """
        tls-client: a TLS client that verifies the server's certificate chain and host name (OpenSSL).

        usage:
          tls-client                  run the demo on loopback (what `make lab-9` does)
          tls-client --dial ADDR [--ca FILE] [--server-name NAME] [--insecure] [--timeout D]
                                      connect to ADDR (host:port), shake hands and verify the server:
                                      its chain against the system's roots (or the CAs in FILE), its
                                      name against NAME (default: the host in ADDR); then copy what it
                                      sends to stdout. Version, suite and certificate go to stderr.
                                      D bounds connect + handshake (default 10s). --insecure skips
                                      every check: anyone on the path can answer for the server.
          tls-client --help           this text
        """)

lab.run { arguments in
    let address = try arguments.address("--dial")
    let ca = try arguments.value("--ca")
    let serverName = try arguments.value("--server-name")
    let insecure = arguments.flag("--insecure")
    let timeout = try arguments.duration("--timeout")
    try arguments.finish()
    guard let address else {
        if ca != nil || serverName != nil || insecure || timeout != nil {
            throw UsageError("--ca, --server-name, --insecure and --timeout go with --dial")
        }
        return try demo()
    }
    if serverName?.isEmpty == true { throw UsageError("--server-name: want a host name or an IP address") }
    let config = try clientConfig(dialing: address, ca: ca, serverName: serverName, insecure: insecure)
    try copyToStdout(address, config, timeout: timeout ?? .seconds(10))
}

// ANCHOR: config
/// Verification is on unless asked, loudly, to be off. With no CA file the system's roots
/// (/etc/ssl/certs) are trusted. The certificate must name `serverName`, or else the host
/// we dial (an address must be among its IP entries): the name we meant, never one the
/// server offers.
func clientConfig(dialing address: String, ca: String?, serverName: String?, insecure: Bool) throws -> TLSConfig {
    // BEGIN SOLUTION: build the client's TLSConfig from the flags: verification stays on unless --insecure, the CAs in --ca are trusted (none given: the system's roots), and the name to check is --server-name, or else the host of the --dial address (Address.split) § What "verified" means
    var config = TLSConfig()
    config.caFile = ca
    config.serverName = try serverName ?? Address.split(address).host
    config.insecureSkipVerify = insecure
    return config
    // END SOLUTION
}
// ANCHOR_END: config

// ANCHOR: copy
/// `--dial`: connect, shake hands, verify, then every byte the server sends goes to
/// stdout unchanged until its close_notify. What was agreed goes to stderr.
func copyToStdout(_ address: String, _ config: TLSConfig, timeout: Duration) throws {
    let connection = try TLSDialer(config: config, timeout: timeout).dial("tcp", address)
    defer { connection.close() }
    for line in describe(connection) { printError(line) }
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while true {
        let count = try connection.read(into: &buffer)
        if count == 0 { break }  // the server is done
        writeRaw(Array(buffer[..<count]))
    }
    if connection.closedWithoutCloseNotify {
        printError("note: the server closed TCP without close_notify: nothing proves the data was complete")
    }
}
// ANCHOR_END: copy

// ANCHOR: describe
/// What the handshake agreed, and who answered.
func describe(_ connection: TLSConnection) -> [String] {
    var lines = [
        "connected to \(connection.connection.remoteAddress?.description ?? "?"): "
            + "\(connection.version) \(connection.cipherSuite) \(connection.group ?? "no group")"
    ]
    if let peer = connection.peerCertificate {
        lines.append(
            "server certificate: \(peer.subject), issued by \(peer.issuer), for \(peer.names.joined(separator: ", "))")
    }
    if connection.context.config.insecureSkipVerify {
        let verdict = connection.skippedVerificationFailure ?? "it would have passed"
        lines.append("WARNING: --insecure: the certificate was not checked (\(verdict)); anyone could be answering")
    }
    return lines
}
// ANCHOR_END: describe

func printError(_ line: String) {
    try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
}

// MARK: The demo

/// A server the demo starts: a certificate, a greeting, and a log of what it saw.
struct DemoServer {
    let name: String
    let about: String
    let listener: TLSListener
    let log = Mailbox<String>()
    let thread: BackgroundThread

    /// Serves `count` connections, one at a time: handshake, greeting, close_notify.
    init(_ name: String, _ identity: Identity, about: String, count: Int) throws {
        var config = TLSConfig()
        config.certificateFile = identity.certificateFile
        config.keyFile = identity.keyFile
        let listener = try TLSListener("tcp", "127.0.0.1:0", TLSContext(.server, config))
        let log = self.log
        thread = BackgroundThread(name) {
            for _ in 0..<count {
                guard let connection = try? listener.accept() else { return }
                do {
                    try connection.write("hello from the \(name) server\r\n")
                    log.put("served")
                } catch {
                    log.put("\(error)")
                }
                connection.close()
            }
        }
        self.name = name
        self.about = about
        self.listener = listener
    }

    var address: String { "localhost:\(listener.address.port)" }
}

// ANCHOR: demo
func demo() throws {
    let pki = try TestPKI("tls-client")
    let ca = try pki.authority("Guide Test CA", file: "ca")
    let other = try pki.authority("Somebody Else's CA", file: "other-ca")
    let names = ["localhost", "127.0.0.1", "::1"]
    let servers = [
        try DemoServer(
            "good", try pki.server("good", names: names, signedBy: ca),
            about: "for localhost, 127.0.0.1, ::1, signed by Guide Test CA", count: 2),
        try DemoServer(
            "impostor", try pki.server("impostor", names: ["elsewhere.test"], signedBy: ca),
            about: "for elsewhere.test (a real certificate, for another name), signed by Guide Test CA", count: 2),
        try DemoServer(
            "untrusted", try pki.server("untrusted", names: names, signedBy: other),
            about: "for localhost, 127.0.0.1, ::1, signed by Somebody Else's CA", count: 2),
        try DemoServer(
            "expired", try pki.server("expired", names: names, signedBy: ca, expired: true),
            about: "for localhost, 127.0.0.1, ::1, signed by Guide Test CA, expired yesterday", count: 2),
        try DemoServer(
            "self-signed", try pki.server("self-signed", names: names, signedBy: nil),
            about: "for localhost, 127.0.0.1, ::1, signed by its own key", count: 2),
    ]
    say("pki: made with the openssl command in \(pki.directory) (mode 0700, keys 0600, deleted at exit):")
    say("  two CAs, \"Guide Test CA\" (the one we trust) and \"Somebody Else's CA\", and five servers:")
    for server in servers { say("  \(server.name) on 127.0.0.1:\(server.listener.address.port): \(server.about)") }

    say("")
    say("verifying, as this module does by default (tls-client --dial localhost:PORT --ca ca.pem):")
    for server in servers {
        // The self-signed server is tried with no --ca at all: the system's roots, as any client would.
        let selfSigned = server.name == "self-signed"
        let config = try clientConfig(
            dialing: server.address, ca: selfSigned ? nil : ca.certificateFile, serverName: nil,
            insecure: false)
        say("\(server.name)\(selfSigned ? " (no --ca: the system's roots)" : ""): \(attempt(server, config))")
    }

    say("")
    say("with --insecure (Go's InsecureSkipVerify: true, the source's 4.2.3):")
    for server in servers {
        let config = try clientConfig(dialing: server.address, ca: ca.certificateFile, serverName: nil, insecure: true)
        say("\(server.name): \(attempt(server, config))")
    }
    say("=> --insecure believed all five: whoever sits between a client and its server can answer in its place")
    for server in servers {
        server.thread.join()
        server.listener.close()
    }
}
// ANCHOR_END: demo

// ANCHOR: attempt
/// One connection to `server`: what the client got, and, if it failed, what the server saw.
func attempt(_ server: DemoServer, _ config: TLSConfig) -> String {
    do {
        let connection = try TLSDialer(config: config, timeout: .seconds(10)).dial("tcp", server.address)
        defer { connection.close() }
        let greeting = try connection.readToEnd()
        _ = server.log.take()
        let skipped = connection.skippedVerificationFailure.map { "; unchecked: \($0)" } ?? ""
        return "connected, read \(quoted(greeting))\(skipped)"
    } catch {
        let seen = server.log.take() ?? "nothing"
        return "\(error)\n  the server saw: \(seen)"
    }
}
// ANCHOR_END: attempt
