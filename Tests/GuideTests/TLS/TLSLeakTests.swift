// The TLS module frees every OpenSSL object and closes every descriptor it owns, on every
// path: good handshakes, refused certificates, timeouts, garbage, and connections dropped
// without `close()`. Part of the `DescriptorLeaks` suite, which `make test` runs alone:
// it counts this whole process's descriptors and OpenSSL objects.
import Foundation
import Sockets
import TLS
import TestPKI
import Testing

extension DescriptorLeaks {
    @Test func tlsConnectionsLeaveNothingBehind() async throws {
        let c = try await Certificates.shared()
        let (descriptors, objects) = (try await settledDescriptorCount(), OpenSSLObjects.alive)
        try await onThread {
            var config = TLSConfig.server(c.localhost)
            config.handshakeTimeout = .seconds(1)  // long enough for the good ones on a busy machine
            let rounds = 40
            let server = try ModuleServer(config, count: rounds + 3)
            for _ in 0..<rounds {
                _ = try TLSDialer(config: .client(trusting: c.ca)).dial("tcp", server.address).readToEnd()
                _ = server.outcome()
            }
            // A refused certificate, a silent client that times out, plain-text garbage.
            _ = netError { _ = try TLSDialer(config: .client(trusting: nil)).dial("tcp", server.address) }
            _ = server.outcome()
            let silent = try dial("tcp", server.address)
            _ = server.outcome()
            silent.close()
            let garbage = try dial("tcp", server.address)
            try garbage.write("not TLS\r\n")
            _ = try? garbage.readToEnd()
            garbage.close()
            _ = server.outcome()
            // Dropped without close(): deinit sends close_notify, frees the SSL, closes the socket.
            let (tcpClient, tcpServer) = try connectedPair()
            _ = try TLSConnection.client(tcpClient, TLSContext(.client), host: "localhost")
            _ = try TLSConnection.server(tcpServer, TLSContext(.server, config))
            _ = try CertificateSet.shared()  // its TestPKI lives for the whole run: not a leak
        }
        let after = try await settledDescriptorCount()  // the server thread's last close, too
        #expect(after == descriptors, "descriptors before: \(descriptors), after: \(after)")
        #expect(OpenSSLObjects.alive == objects, "OpenSSL objects before: \(objects), after: \(OpenSSLObjects.alive)")
    }
}
