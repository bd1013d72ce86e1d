// Lab 7: the hello server over TLS, on the system's OpenSSL. Secure defaults (TLS 1.2 at
// least, forward-secret AEAD suites), a certificate and key from files, one thread per
// client, and a handshake timeout, so a client that fails, whatever way, fails alone.
import Foundation
import LabKit
import Sockets
import TLS
import TestPKI

let lab = Lab(
    name: "tls-server",
    usage: """
        tls-server: the hello server over TLS (OpenSSL): TLS 1.2+, forward-secret AEAD suites only.

        usage:
          tls-server                          run the demo on loopback (what `make lab-7` does)
          tls-server --listen ADDR --cert FILE --key FILE [--count N] [--handshake-timeout D]
                                              serve "Hello World!\\r\\n" over TLS to every client, one
                                              thread each; stop after N clients (default: never);
                                              give up on a handshake after D (default 10s)
          tls-server --help                   this text
        """)

lab.run { arguments in
    let address = try arguments.address("--listen")
    let certificate = try arguments.value("--cert")
    let key = try arguments.value("--key")
    let count = try arguments.count("--count")
    let handshakeTimeout = try arguments.duration("--handshake-timeout")
    try arguments.finish()
    guard let address else {
        if certificate != nil || key != nil || count != nil || handshakeTimeout != nil {
            throw UsageError("--cert, --key, --count and --handshake-timeout go with --listen")
        }
        return try demo()
    }
    guard let certificate, let key else { throw UsageError("--listen needs --cert FILE and --key FILE") }
    let context = try TLSContext(
        .server, serverConfig(certificate: certificate, key: key, handshakeTimeout: handshakeTimeout))
    let listener = try TLSListener("tcp", address, context)
    say("listening on \(listener.address)")
    serve(listener, count: count) { outcome in
        switch outcome {
        case .served(let line): say(line)
        case .failed(let line): printError(line)
        }
    }
    say("done: \(count ?? 0) clients; OpenSSL objects still alive: \(OpenSSLObjects.alive) (the context)")
}

// ANCHOR: config
/// The source's tls.Config, corrected. Everything it set by hand is now the default of
/// `TLSConfig()`: TLS 1.2 minimum (1.3 preferred), X25519 then P-256 (not P-521 first),
/// TLS 1.2 suites ECDHE + AEAD only (no CBC, no RSA key exchange). What it forgot is
/// here: the certificate and its key, and a time limit on each handshake.
func serverConfig(certificate: String, key: String, handshakeTimeout: Duration?) -> TLSConfig {
    // BEGIN SOLUTION: build the server's TLSConfig: keep TLSConfig()'s defaults (TLS 1.2 at least, forward-secret AEAD suites only), load the certificate and key from the files given, and bound every handshake by handshakeTimeout when one is given § The server
    var config = TLSConfig()
    config.certificateFile = certificate
    config.keyFile = key
    if let handshakeTimeout { config.handshakeTimeout = handshakeTimeout }
    return config
    // END SOLUTION
}
// ANCHOR_END: config

// ANCHOR: source-config
/// The source's 4.1.2 configuration in this module's terms, kept to compare against.
func sourceConfig(certificate: String, key: String) -> TLSConfig {
    var config = serverConfig(certificate: certificate, key: key, handshakeTimeout: nil)
    config.groups = ["P-521", "X25519"]  // CurvePreferences: the slowest curve first
    config.cipherSuites12 = [
        "ECDHE-RSA-AES256-GCM-SHA384",  // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: good
        "ECDHE-RSA-AES256-SHA",  // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: CBC (MAC-then-encrypt in Go)
        "AES256-GCM-SHA384",  // TLS_RSA_WITH_AES_256_GCM_SHA384: RSA key exchange, no forward secrecy
        "AES256-SHA",  // TLS_RSA_WITH_AES_256_CBC_SHA: both problems
    ]
    // PreferServerCipherSuites: true. Go ignores it since 1.17; nothing to set.
    return config
}
// ANCHOR_END: source-config

enum Outcome {
    case served(String)
    case failed(String)
}

// ANCHOR: serve
/// The accept loop: each client gets a thread of its own, which runs the handshake,
/// so a slow or hostile client holds its own thread only. `Serving` starts the threads
/// and, on SIGINT/SIGTERM, ends the loop and lets the clients in progress finish. With
/// `count`, stop after that many clients. Either way, wait for every client's thread.
func serve(_ listener: TLSListener, count: Int?, report: @escaping @Sendable (Outcome) -> Void) {
    // BEGIN SOLUTION: accept clients in a loop (listener.accept(reporting:) waits out a lack of descriptors) and start each on a thread of its own with Serving, which reports hello(connection), so the handshake runs there, never in the accept loop; with count, stop after count clients; finish() waits for them § The server
    let connections = Serving(listener.listener)
    defer { connections.finish() }
    var accepted = 0
    while count.map({ accepted < $0 }) ?? true {
        let connection: TLSConnection
        do {
            connection = try listener.accept { error, retryIn in
                report(.failed(retryIn > .zero ? "\(error); retrying in \(shown(retryIn))" : "\(error)"))
            }
        } catch {
            if !connections.isStopping { report(.failed("\(error)")) }  // the listener was closed
            break
        }
        accepted += 1
        connections.start("client", orElse: connection.close) { report(hello(connection)) }
    }
    // END SOLUTION
}
// ANCHOR_END: serve

// ANCHOR: hello
/// One client: the handshake (bounded by the handshake timeout), then the source's
/// bytes, one SSL_write per byte like its loop, then close_notify.
func hello(_ connection: TLSConnection) -> Outcome {
    defer { connection.closeGracefully() }  // close_notify, FIN, then the client's last bytes (chapter 10)
    do {
        try connection.handshake()
        let before = connection.bytesSent
        let message = Array("Hello World!\r\n".utf8)
        for byte in message { try connection.write([byte]) }  // each call: one TLS record
        let peer = connection.connection.remoteAddress.map { "\($0)" } ?? "?"
        let exchange = connection.group ?? "RSA key exchange"
        return .served(
            "served \(peer): \(connection.version) \(connection.cipherSuite) \(exchange), "
                + "\(message.count) bytes in \(message.count) writes = \(connection.bytesSent - before) bytes of TLS records"
        )
    } catch {
        return .failed("\(error)")
    }
}
// ANCHOR_END: hello

func printError(_ line: String) {
    try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
}

// MARK: The demo

/// What the demo's server threads report, one line per client.
typealias ServerLog = Mailbox<String>

extension Mailbox<String> {
    func add(_ outcome: Outcome) {
        switch outcome {
        case .served(let line), .failed(let line): put(line)
        }
    }

    /// The oldest line that mentions `text` (any line, if nil).
    func take(mentioning text: String? = nil) -> String {
        take { line in text.map { line.contains($0) } ?? true } ?? "(the server said nothing)"
    }
}

// ANCHOR: demo
func demo() throws {
    let pki = try TestPKI("tls-server")
    let ca = try pki.authority("Guide Test CA", file: "ca")
    let identity = try pki.server("localhost", names: ["localhost", "127.0.0.1", "::1"], signedBy: ca, key: .rsa)
    say(
        "pki: a throwaway CA and an RSA server certificate for localhost, 127.0.0.1, ::1, made with the openssl command"
    )
    say("pki: in \(pki.directory) (mode 0700), keys mode 0600, deleted at exit")

    // The source calls tls.Listen with a Config that holds no certificate.
    do { _ = try TLSContext(.server, TLSConfig()) } catch { say("the source's config, no certificate: \(error)") }

    let timeout = Duration.seconds(1)
    let config = serverConfig(certificate: identity.certificateFile, key: identity.keyFile, handshakeTimeout: timeout)
    let listener = try TLSListener("tcp", "127.0.0.1:0", TLSContext(.server, config))
    say("listening on \(listener.address), handshake timeout \(timeout.goDescription) (the default is 10s)")
    let log = ServerLog()
    let server = BackgroundThread("server") { serve(listener, count: 8) { log.add($0) } }
    let address = listener.address.description

    try goodClients(address, ca: ca, log)
    try outsiders(address, ca: ca, log, identity: identity)
    try badClients(address, ca: ca, log)

    server.join()
    listener.close()
    say("")
    say("OpenSSL objects still alive: \(OpenSSLObjects.alive) (the server's context): every connection's SSL was freed")
}
// ANCHOR_END: demo

// ANCHOR: demo-good
/// Clients 1 and 2: this module's client, with its defaults, then limited to TLS 1.2.
func goodClients(_ address: String, ca: Identity, _ log: ServerLog) throws {
    var trusting = TLSConfig()
    trusting.caFile = ca.certificateFile
    var upTo12 = trusting
    upTo12.maxVersion = .tls12
    for (number, (name, config)) in [("this module's defaults", trusting), ("TLS 1.2 at most", upTo12)].enumerated() {
        let (line, messages) = try fetch(address, config)
        say("")
        say("client \(number + 1), \(name): \(line)")
        say("  server: \(log.take())")
        say("  the messages, as the client saw them (→ sent, ← received):")
        for flight in flights(messages) { say("    \(flight)") }
    }
}

/// Consecutive messages in one direction, one line each: the handshake's round trips.
/// A run of records of data is counted: `data ×14`.
func flights(_ messages: [TLSMessage]) -> [String] {
    var flights: [(sent: Bool, names: [(String, Int)])] = []
    for message in messages {
        if flights.last?.sent != message.sent { flights.append((message.sent, [])) }
        if flights[flights.count - 1].names.last?.0 == message.name {
            flights[flights.count - 1].names[flights[flights.count - 1].names.count - 1].1 += 1
        } else {
            flights[flights.count - 1].names.append((message.name, 1))
        }
    }
    return flights.map { flight in
        (flight.sent ? "→ " : "← ") + flight.names.map { $1 == 1 ? $0 : "\($0) ×\($1)" }.joined(separator: ", ")
    }
}
// ANCHOR_END: demo-good

// ANCHOR: demo-refused
/// Clients 3 to 5: `openssl s_client` offering what we refuse. Then the same offers to a
/// server configured like the source, which takes them.
func outsiders(_ address: String, ca: Identity, _ log: ServerLog, identity: Identity) throws {
    let offers: [(String, [String])] = [
        ("TLS 1.1 only", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
        ("RSA key exchange only", ["-tls1_2", "-cipher", "AES256-GCM-SHA384"]),
        ("CBC suites only", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA"]),
    ]
    say("")
    for (number, (offer, flags)) in offers.enumerated() {
        say(
            "client \(number + 3), openssl s_client offering \(offer): \(try sClient(address, ca.certificateFile, flags))"
        )
        say("  server: \(log.take())")
    }
    let source = try TLSListener(
        "tcp", "127.0.0.1:0",
        TLSContext(.server, sourceConfig(certificate: identity.certificateFile, key: identity.keyFile)))
    defer { source.close() }
    let sourceLog = ServerLog()
    let sourceServer = BackgroundThread("source") { serve(source, count: 2) { sourceLog.add($0) } }
    say("the same offers to a server configured like the source:")
    for (offer, flags) in offers[1...] {
        say("  s_client offering \(offer): \(try sClient(source.address.description, ca.certificateFile, flags))")
        say("    server: \(sourceLog.take())")
    }
    sourceServer.join()
}
// ANCHOR_END: demo-refused

// ANCHOR: demo-bad
/// Clients 6 to 8: plain HTTP, a client that says nothing, and a good one beside it.
func badClients(_ address: String, ca: Identity, _ log: ServerLog) throws {
    say("")
    let plain = try dial("tcp", address)
    try plain.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    let ending: String
    do {
        ending = "read \(quoted(try plain.readToEnd())), then EOF"
    } catch {
        // OpenSSL read 5 bytes, saw no TLS record, and gave up; the graceful close reads the rest: no reset.
        ending = error.code == ECONNRESET ? "no answer, the connection was reset" : "\(error)"
    }
    plain.close()
    say("client 6, plain HTTP to the TLS port: \(ending)")
    say("  server: \(log.take())")

    let silent = try dial("tcp", address)  // connects, then says nothing at all
    defer { silent.close() }
    say("client 7 connects and says nothing; meanwhile...")
    var trusting = TLSConfig()
    trusting.caFile = ca.certificateFile
    say("client 8, while client 7 waits: \(try fetch(address, trusting).line)")
    say("  server: \(log.take(mentioning: "served"))")
    let start = ContinuousClock.now
    let line = log.take(mentioning: silent.localAddress?.description ?? "?")
    say("  server, on client 7: \(line) (after another \(shown(ContinuousClock.now - start)))")
}
// ANCHOR_END: demo-bad

/// Our own client: connect, verify, read to close_notify, close. One line about what
/// happened, and every message of the conversation.
func fetch(_ address: String, _ config: TLSConfig) throws -> (line: String, messages: [TLSMessage]) {
    let connection = try TLSDialer(config: config, timeout: .seconds(10)).dial("tcp", address)
    let bytes = try connection.readToEnd()
    connection.close()
    let line =
        "\(connection.version) \(connection.cipherSuite) \(connection.group ?? "no group"), read \(quoted(bytes))"
    return (line, connection.messages)
}

/// `openssl s_client`, a TLS client we did not write, offering what `flags` say.
/// "refused", or the version and suite it got (from its session summary).
func sClient(_ address: String, _ caFile: String, _ flags: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl", "s_client", "-connect", address, "-CAfile", caFile, "-verify_return_error"] + flags
    let output = Pipe()
    process.standardInput = FileHandle.nullDevice  // EOF at once: s_client hangs up after the handshake
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    func field(_ name: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("    \(name)") }?.split(separator: ":").last
            .map { String($0.drop(while: { $0 == " " })) }
    }
    guard process.terminationStatus == 0, let version = field("Protocol  :"), let suite = field("Cipher    :") else {
        return "refused"
    }
    return "connected, \(version) \(suite)"
}
