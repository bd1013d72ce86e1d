// The certificates the TLS tests share, made once per test run at run time (never
// committed) by the same `TestPKI` the labs' demos use, and deleted when the run exits.
import Foundation
import Synchronization
import Sockets
import TestPKI
import Testing
import TLS

struct Certificates: Sendable {
    let pki: TestPKI
    /// The authority the tests trust (`--ca`), and one they do not.
    let ca: Identity
    let otherCA: Identity
    /// localhost, 127.0.0.1, ::1, signed by `ca`.
    let localhost: Identity
    /// A good certificate, signed by `ca`, for another name: what an impostor would hold.
    let elsewhere: Identity
    let expired: Identity
    let untrusted: Identity
    let selfSigned: Identity

    static let names = ["localhost", "127.0.0.1", "::1"]

    private init() throws {
        pki = try TestPKI("guide-tests")
        ca = try pki.authority("Guide Test CA", file: "ca")
        otherCA = try pki.authority("Somebody Else's CA", file: "other-ca")
        localhost = try pki.server("localhost", names: Self.names, signedBy: ca)
        elsewhere = try pki.server("elsewhere", names: ["elsewhere.test"], signedBy: ca)
        expired = try pki.server("expired", names: Self.names, signedBy: ca, expired: true)
        untrusted = try pki.server("untrusted", names: Self.names, signedBy: otherCA)
        selfSigned = try pki.server("self-signed", names: Self.names, signedBy: nil)
    }

    private static let made = Result { try Certificates() }
    /// An RSA server certificate: only RSA can offer the (refused) RSA key exchange.
    private static let madeRSA = Result { () throws -> Identity in
        let certificates = try made.get()
        return try certificates.pki.server("localhost-rsa", names: names, signedBy: certificates.ca, key: .rsa)
    }

    static func shared() throws -> Certificates { try made.get() }
    static func rsa() throws -> Identity { try madeRSA.get() }
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
    private let log = Outcomes()

    init(_ config: TLSConfig, host: String = "127.0.0.1", count: Int = 1,
         serve: @escaping @Sendable (TLSConnection) throws -> Void = { try $0.write("Hello World!\r\n") }) throws {
        listener = try TLSListener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0", TLSContext(.server, config))
        Thread { [listener, log] in
            for _ in 0..<count {
                guard let connection = try? listener.accept() else { break }
                do {
                    try serve(connection)
                    log.add(nil)
                } catch {
                    log.add("\(error)")
                }
                connection.close()
            }
        }.start()
    }

    var address: String { listener.address.description }
    var port: UInt16 { listener.address.port }

    /// Connection `index`'s outcome, waiting up to 20 s for it: `.some(nil)` means it was served.
    func outcome(_ index: Int) -> String?? { log.wait(for: index) }

    deinit { listener.close() }
}

/// What happened to each connection a test server handled, in order.
final class Outcomes: Sendable {
    private let entries = Mutex<[String?]>([])
    private let added = DispatchSemaphore(value: 0)

    func add(_ entry: String?) {
        entries.withLock { $0.append(entry) }
        added.signal()
    }

    func wait(for index: Int) -> String?? {
        let limit = DispatchTime.now() + 20
        while entries.withLock({ $0.count }) <= index {
            guard added.wait(timeout: limit) == .success else { return .some("timed out waiting for the server") }
        }
        return entries.withLock { $0[index] }
    }
}
