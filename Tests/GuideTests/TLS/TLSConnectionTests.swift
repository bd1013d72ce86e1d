// The TLS module's promises, checked in-process on loopback: the plain-socket contract
// over TLS, secure defaults, errors a reader can act on, timeouts, and no SIGPIPE.
import Foundation
import Sockets
import TLS
import TestPKI
import Testing

@Suite struct TLSConnectionTests {
    @Test(arguments: [TLSVersion.tls12, .tls13])
    func bothVersionsMoveEveryByteAndEndWithCloseNotify(version: TLSVersion) async throws {
        let certificates = try await Certificates.shared()
        let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }  // many records, partial sends
        let server = try ModuleServer(.server(certificates.localhost)) { connection in
            try connection.write(big)
        }
        var config = TLSConfig.client(trusting: certificates.ca)
        config.maxVersion = version
        let (received, agreed) = try await onThread { [config] in
            let connection = try TLSDialer(config: config).dial("tcp", "localhost:\(server.port)")
            defer { connection.close() }
            let received = try connection.readToEnd()
            #expect(try connection.read(maxLength: 10).isEmpty, "EOF stays EOF")
            return (received, (connection.version, connection.cipherSuite, connection.group))
        }
        #expect(received == big)
        #expect(server.outcome() == .some(nil))
        if version == .tls13 {
            #expect(agreed.0 == "TLSv1.3")
            #expect(agreed.1.hasPrefix("TLS_AES_") || agreed.1.hasPrefix("TLS_CHACHA20"))
        } else {
            #expect(agreed.0 == "TLSv1.2")
            #expect(agreed.1 == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "our first choice for an ECDSA key")
        }
        #expect(agreed.2 == "X25519")
    }

    @Test func peerCertificateAndSNI() async throws {
        let certificates = try await Certificates.shared()
        let server = try ModuleServer(.server(certificates.localhost), count: 2) { connection in
            try connection.handshake()  // the name arrives in the ClientHello
            try connection.write(connection.requestedServerName ?? "(no SNI)")
        }
        let config = TLSConfig.client(trusting: certificates.ca)
        let (byName, byAddress, subject, issuer, names) = try await onThread {
            let byName = try TLSDialer(config: config).dial("tcp", "localhost:\(server.port)")
            let byAddress = try TLSDialer(config: config).dial("tcp", "127.0.0.1:\(server.port)")
            let peer = try #require(byName.peerCertificate)
            return (
                String(decoding: try byName.readToEnd(), as: UTF8.self),
                String(decoding: try byAddress.readToEnd(), as: UTF8.self),
                peer.subject, peer.issuer, peer.names
            )
        }
        #expect(byName == "localhost", "a name is sent as SNI")
        #expect(byAddress == "(no SNI)", "an IP address is not (RFC 6066)")
        #expect(subject == "CN=localhost,O=Guide test PKI")
        #expect(issuer == "CN=Guide Test CA,O=Guide test PKI")
        #expect(names == ["localhost", "127.0.0.1", "::1"])
    }

    @Test func verificationFailuresSayWhatFailed() async throws {
        let c = try await Certificates.shared()
        let cases: [(Identity, String, TLSConfig, String)] = [
            (
                c.elsewhere, "localhost", .client(trusting: c.ca),
                "x509: certificate is valid for elsewhere.test, not localhost [OpenSSL: hostname mismatch]"
            ),
            (
                c.localhost, "127.0.0.2", .client(trusting: c.ca),
                "x509: certificate is valid for localhost, 127.0.0.1, ::1, not 127.0.0.2 [OpenSSL: IP address mismatch]"
            ),
            (
                c.untrusted, "localhost", .client(trusting: c.ca),
                "x509: certificate signed by unknown authority [OpenSSL: unable to get local issuer certificate]"
            ),
            (
                c.expired, "localhost", .client(trusting: c.ca),
                "x509: certificate has expired or is not yet valid [OpenSSL: certificate has expired]"
            ),
            (
                c.selfSigned, "localhost", .client(trusting: nil),
                "x509: certificate signed by unknown authority [OpenSSL: self-signed certificate]"
            ),
            // OpenSSL would fall back to the subject's CN; like Go (since 1.15) we never do.
            (
                c.commonNameOnly, "localhost", .client(trusting: c.ca),
                "x509: certificate is not valid for any names, but wanted to match localhost [OpenSSL: hostname mismatch]"
            ),
        ]
        for (identity, host, config, reason) in cases {
            let server = try ModuleServer(.server(identity), host: "127.0.0.1")
            let target = host == "localhost" ? "localhost:\(server.port)" : "127.0.0.1:\(server.port)"
            var config = config
            if host.first?.isNumber == true { config.serverName = host }
            let error = try await onThread { [config] in
                netError { _ = try TLSDialer(config: config).dial("tcp", target) }
            }
            let text = try #require(error?.description)
            #expect(text.hasPrefix("handshake tcp 127.0.0.1:"), "\(text)")
            #expect(
                text.hasSuffix("->127.0.0.1:\(server.port): tls: failed to verify certificate: \(reason)"), "\(text)")
            // The server hears why, as the alert the client sent.
            let seen = try #require(server.outcome() ?? nil)
            #expect(seen.contains(": remote error: tls: "), "\(seen)")
        }
    }

    @Test func zeroTimeoutsMeanNoLimitAsInGo() async throws {
        let c = try await Certificates.shared()
        var serverConfig = TLSConfig.server(c.localhost)
        serverConfig.handshakeTimeout = .zero
        let server = try ModuleServer(serverConfig)
        let text = try await onThread {
            let connection = try TLSDialer(config: .client(trusting: c.ca), timeout: .zero).dial(
                "tcp", "localhost:\(server.port)")
            defer { connection.close() }
            return String(decoding: try connection.readToEnd(), as: UTF8.self)
        }
        #expect(text == "Hello World!\r\n")
        #expect(server.outcome() == .some(nil))
    }

    @Test func insecureSkipVerifyConnectsToAnImpostorButSaysWhatItSkipped() async throws {
        let c = try await Certificates.shared()
        let server = try ModuleServer(.server(c.elsewhere))
        var config = TLSConfig.client(trusting: c.ca)
        config.insecureSkipVerify = true
        let (text, skipped) = try await onThread { [config] in
            let connection = try TLSDialer(config: config).dial("tcp", "localhost:\(server.port)")
            return (String(decoding: try connection.readToEnd(), as: UTF8.self), connection.skippedVerificationFailure)
        }
        #expect(text == "Hello World!\r\n")
        #expect(
            skipped?.contains("certificate is valid for elsewhere.test, not localhost") == true, "\(skipped ?? "nil")")
    }

    @Test func aSilentClientTimesOutTheHandshake() async throws {
        let c = try await Certificates.shared()
        var config = TLSConfig.server(c.localhost)
        config.handshakeTimeout = .milliseconds(300)
        let server = try ModuleServer(config)
        let start = ContinuousClock.now
        let silent = try await onThread { try dial("tcp", server.address) }  // connects, says nothing
        let outcome = try #require(server.outcome() ?? nil)
        let waited = ContinuousClock.now - start
        #expect(outcome.hasPrefix("handshake tcp 127.0.0.1:\(server.port)->127.0.0.1:"), "\(outcome)")
        #expect(outcome.hasSuffix(": i/o timeout"), "\(outcome)")
        #expect(waited >= .milliseconds(250) && waited < generous(.seconds(15)), "\(waited)")
        silent.close()
    }

    @Test func aPeerThatHangsUpMidWriteIsAnErrorNotSIGPIPE() async throws {
        // SIGPIPE keeps its default action (killing the process) in this test process:
        // nobody ignored it, so if a send raised it, this test run would die here.
        let disposition = signal(SIGPIPE, SIG_DFL)  // asks, by setting what it already is
        #expect(disposition == nil, "SIGPIPE is SIG_DFL, a null handler: nobody ignored it")
        signal(SIGPIPE, disposition)
        let c = try await Certificates.shared()
        let server = try ModuleServer(.server(c.localhost)) { connection in
            let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
            for _ in 0..<64 { try connection.write(chunk) }  // far more than the buffers hold
        }
        try await onThread {
            let connection = try TLSDialer(config: .client(trusting: c.ca)).dial("tcp", "localhost:\(server.port)")
            _ = try connection.read(maxLength: 100)
            connection.connection.close()  // hang up: TCP close, unread data, so the kernel resets
        }
        let outcome = try #require(server.outcome() ?? nil)
        #expect(outcome.hasPrefix("write tcp "), "\(outcome)")
        #expect(
            outcome.hasSuffix(": write: broken pipe") || outcome.hasSuffix(": write: connection reset by peer"),
            "\(outcome)")
    }

    @Test func aTCPCloseBetweenRecordsIsEOFInsideOneAnError() async throws {
        let c = try await Certificates.shared()
        let server = try ModuleServer(.server(c.localhost), count: 2) { connection in
            try connection.write("partial")
            if connection.requestedServerName == "cut.localhost" {
                // The header of a 64-byte record, and 10 of its bytes: then the line goes dead.
                _ = try connection.connection.socket.writeAll(
                    [0x17, 0x03, 0x03, 0x00, 0x40] + [UInt8](repeating: 0, count: 10))
            }
            connection.connection.close()  // TCP close, no close_notify
        }
        for (name, cut) in [("localhost", false), ("cut.localhost", true)] {
            var config = TLSConfig.client(trusting: c.ca)
            config.serverName = name
            config.insecureSkipVerify = true  // cut.localhost is not in the certificate; only SNI matters here
            let (bytes, error, noCloseNotify) = try await onThread { [config] in
                let connection = try TLSDialer(config: config).dial("tcp", "127.0.0.1:\(server.port)")
                var bytes: [UInt8] = []
                let error = netError { while case let chunk = try connection.read(), !chunk.isEmpty { bytes += chunk } }
                return (bytes, error, connection.closedWithoutCloseNotify)
            }
            #expect(bytes == Array("partial".utf8))
            if cut {
                #expect(
                    error?.description.hasSuffix(": tls: unexpected EOF (the connection closed inside a record)")
                        == true,
                    "\(String(describing: error))")
            } else {
                #expect(error == nil, "a close between records reads as EOF, as in Go")
                #expect(noCloseNotify, "and is reported")
            }
        }
    }

    @Test func configurationMistakesAreOneLine() async throws {
        let c = try await Certificates.shared()
        #expect { try TLSContext(.server, TLSConfig()) } throws: {
            "\($0)" == "tls: a server needs a certificate and its private key (certificateFile, keyFile)"
        }
        var missing = TLSConfig.server(c.localhost)
        missing.certificateFile = "/nonexistent/cert.pem"
        #expect { try TLSContext(.server, missing) } throws: {
            "\($0)" == "open /nonexistent/cert.pem: no such file or directory"
        }
        var mismatched = TLSConfig.server(c.localhost)
        mismatched.keyFile = c.elsewhere.keyFile
        #expect { try TLSContext(.server, mismatched) } throws: {
            "\($0)" == "tls: private key does not match public key"
        }
        var notPEM = TLSConfig.client(trusting: nil)
        notPEM.caFile = "/etc/hostname"
        #expect { try TLSContext(.client, notPEM) } throws: {
            "\($0)".hasPrefix("tls: load CA certificates from /etc/hostname: ")
        }
    }
}
