// What the TLS tests share: certificates made once per test run at run time (never
// committed) by the same `TestPKI` the labs' demos use, and deleted when the run exits;
// a TLS server run by the module; and OpenSSL's own client and server as outside peers.
import Foundation
import LabKit
import Literate
import Sockets
import Synchronization
import TLS
import TestPKI
import Testing

/// The tests' certificates: the set the grader uses too. Fetched on a thread of its own: the
/// first call runs `openssl` for seconds, and a test waiting for it on Swift concurrency's
/// small pool (two threads on two cores) would stall every other test of the run meanwhile.
enum Certificates {
    static func shared() async throws -> CertificateSet { try await onThread { try CertificateSet.shared() } }

    /// An RSA server certificate: only RSA can offer the (refused) RSA key exchange.
    /// (Call it after `shared()`, which makes the set.)
    static func rsa() throws -> Identity { try CertificateSet.shared().localhostRSA }
}

extension TLSConfig {
    /// A server configuration holding `identity`.
    static func server(_ identity: Identity) -> TLSConfig {
        var config = TLSConfig()
        config.certificateFile = identity.certificateFile
        config.keyFile = identity.keyFile
        return config
    }

    /// A client configuration trusting `ca`.
    static func client(trusting ca: Identity?) -> TLSConfig {
        var config = TLSConfig()
        config.caFile = ca?.certificateFile
        return config
    }
}

/// A TLS server on loopback, run by the module on a thread: for each connection, `serve`.
/// The outcome of each connection (nil: fine, or its error) is kept for the test to read.
final class ModuleServer: Sendable {
    let listener: TLSListener
    private let log = Mailbox<String?>()

    init(
        _ config: TLSConfig, host: String = "127.0.0.1", count: Int = 1,
        serve: @escaping @Sendable (TLSConnection) throws -> Void = { try $0.write("Hello World!\r\n") }
    ) throws {
        listener = try TLSListener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0", TLSContext(.server, config))
        Thread { [listener, log] in
            for _ in 0..<count {
                guard let connection = try? listener.accept() else { break }
                do {
                    try serve(connection)
                    log.put(nil)
                } catch {
                    log.put("\(error)")
                }
                connection.close()
            }
        }.start()
    }

    var address: String { listener.address.description }
    var port: UInt16 { listener.address.port }

    /// The next connection's outcome, in order, waiting up to 20 s for it: `.some(nil)`
    /// means it was served, a string is its error.
    func outcome() -> String?? { log.take() ?? .some("timed out waiting for the server") }

    deinit { listener.close() }
}

// MARK: OpenSSL's command line as a peer

/// `openssl ARGUMENTS` run to the end (stdin empty), with its status and output.
func openssl(_ arguments: [String], timeout: TimeInterval = 30) async throws -> LabRun {
    try await onThread { try LabRun(URL(fileURLWithPath: "/usr/bin/openssl"), arguments, timeout: timeout) }
}

/// `openssl s_client` against `address`, trusting `ca`, checking the name `localhost`.
/// `untilServerCloses`: keep reading until the server closes (`-ign_eof`); otherwise
/// hang up right after the handshake.
func sClient(_ address: String, ca: Identity, _ flags: [String], untilServerCloses: Bool = true) async throws -> LabRun
{
    try await openssl(
        [
            "s_client", "-connect", address, "-CAfile", ca.certificateFile, "-verify_return_error",
            "-verify_hostname", "localhost", "-servername", "localhost",
        ]
            + (untilServerCloses ? ["-ign_eof"] : []) + flags)
}

/// The lab's server role with `identity`, on `host`, port 0.
func tlsServer(_ identity: Identity, host: String = "127.0.0.1", _ extra: [String] = []) async throws -> RunningLab {
    let listen = host.contains(":") ? "[\(host)]:0" : "\(host):0"
    return try await RunningLab(
        "tls-server", ["--listen", listen, "--cert", identity.certificateFile, "--key", identity.keyFile] + extra)
}

/// `openssl s_server` on 127.0.0.1, port 0: it prints `ACCEPT 127.0.0.1:PORT` once
/// listening. `input` is what it sends to a client (its stdin, which stays open: at the
/// end of its input s_server would close the connection, but not reliably at once).
final class OpenSSLServer: @unchecked Sendable {
    let process = Process()
    private let output = Pipe(), input = Pipe()

    init(_ arguments: [String], input text: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:0"] + arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = input
        try process.run()
        if let text { input.fileHandleForWriting.write(Data(text.utf8)) }
    }

    /// The address from its `ACCEPT` line (waits up to 20 s for it).
    func address() async throws -> String {
        try await onThread { [output] in
            var text = ""
            let limit = Date(timeIntervalSinceNow: 20)
            while Date() < limit {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty { break }
                text += String(decoding: byte, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT ") }),
                    text.hasSuffix("\n")
                {
                    return String(line.dropFirst("ACCEPT ".count))
                }
            }
            throw LabFailure("s_server printed no ACCEPT line: \(text)")
        }
    }

    /// SIGKILL, not SIGTERM: a process started from one of Swift's worker threads inherits
    /// that thread's signal mask, with SIGTERM blocked, and s_server never unblocks it.
    @available(*, noasync, message: "it blocks its thread: call it inside onThread { }, or use the async variant")
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func stop() async { try? await onThread { [self] in stop() } }

    deinit { stop() }
}
