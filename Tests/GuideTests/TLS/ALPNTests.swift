// ALPN (RFC 7301) in the TLS module: the server picks the first of its protocols that the
// client offers, a client offering none gets none, and a client offering only others is
// refused with no_application_protocol, as RFC 7301 and Go do.
import Foundation
import Sockets
import TLS
import TestPKI
import Testing

@Suite struct TLSALPN {
    @Test func theServerChoosesAndAClientWithNothingInCommonIsRefused() async throws {
        let c = try await Certificates.shared()
        var config = TLSConfig.server(c.localhost)
        config.nextProtos = ["http/1.1", "h2"]
        let server = try ModuleServer(config, count: 3) { connection in
            try connection.handshake()
            try connection.write(connection.negotiatedProtocol ?? "none")
        }
        func dial(offering protocols: [String]) async throws -> String {
            var client = TLSConfig.client(trusting: c.ca)
            client.nextProtos = protocols
            let address = server.address
            return try await onThread { [client] in
                do {
                    let connection = try TLSDialer(config: client, timeout: .seconds(10)).dial("tcp", address)
                    defer { connection.close() }
                    let said = String(decoding: try connection.readToEnd(), as: UTF8.self)
                    return "\(connection.negotiatedProtocol ?? "none")/\(said)"
                } catch {
                    return "\(error)"
                }
            }
        }
        // The server's order wins: it prefers http/1.1, though the client lists h2 first.
        #expect(try await dial(offering: ["h2", "http/1.1"]) == "http/1.1/http/1.1")
        #expect(server.outcome() == .some(nil))
        #expect(try await dial(offering: []) == "none/none", "no ALPN offered, none agreed")
        #expect(server.outcome() == .some(nil))
        let refused = try await dial(offering: ["spdy/3"])
        #expect(refused.contains("no application protocol"), "\(refused)")
        #expect(server.outcome() != .some(nil))
    }

    @Test func aProtocolNameMustFitInALengthByte() {
        var config = TLSConfig.client(trusting: nil)
        config.nextProtos = [String(repeating: "x", count: 256)]
        #expect(throws: TLSError.self) { try TLSContext(.client, config) }
        config.nextProtos = [""]
        #expect(throws: TLSError.self) { try TLSContext(.client, config) }
    }
}
