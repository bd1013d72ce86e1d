// The throwaway PKI the demos and tests share: private keys readable by their owner
// only, certificates that `openssl verify` accepts for the names asked, nothing left
// on disk afterwards.
import Foundation
import TestPKI
import Testing

@Suite struct TestPKITests {
    @Test func keysArePrivateCertificatesVerifyAndNothingIsLeft() async throws {
        let pki = try TestPKI("guide-pki-test")
        let ca = try pki.authority("Test CA", file: "ca")
        let server = try pki.server("server", names: ["localhost", "127.0.0.1"], signedBy: ca)
        let expired = try pki.server("expired", names: ["localhost"], signedBy: ca, expired: true)
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        #expect(try mode(pki.directory) == 0o700)
        for key in [ca.keyFile, server.keyFile, expired.keyFile] { #expect(try mode(key) == 0o600, "\(key)") }

        let byName = try await openssl([
            "verify", "-CAfile", ca.certificateFile, "-verify_hostname", "localhost", server.certificateFile,
        ])
        #expect(byName.status == 0, "\(byName.stdout)\(byName.stderr)")
        let byAddress = try await openssl([
            "verify", "-CAfile", ca.certificateFile, "-verify_ip", "127.0.0.1", server.certificateFile,
        ])
        #expect(byAddress.status == 0, "\(byAddress.stdout)\(byAddress.stderr)")
        let wrongName = try await openssl([
            "verify", "-CAfile", ca.certificateFile, "-verify_hostname", "elsewhere.test", server.certificateFile,
        ])
        #expect(wrongName.status != 0)
        let late = try await openssl(["verify", "-CAfile", ca.certificateFile, expired.certificateFile])
        #expect(late.status != 0 && (late.stdout + late.stderr).contains("certificate has expired"), "\(late.stderr)")

        pki.remove()
        #expect(!FileManager.default.fileExists(atPath: pki.directory))
    }
}
