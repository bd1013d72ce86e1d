// A throwaway public-key infrastructure for the TLS labs' demos and the tests: certificate
// authorities and server certificates, made at run time with the `openssl` command (the
// same commands a reader would type), in a private temporary directory that is deleted
// when the `TestPKI` goes away or the process exits. No key is ever committed anywhere.
import Foundation
import Synchronization

public struct PKIError: Error, CustomStringConvertible {
    public let description: String
}

/// A certificate and its private key, as PEM files.
public struct Identity: Sendable {
    public let name: String
    public let certificateFile: String
    public let keyFile: String
}

public final class TestPKI: Sendable {
    public enum KeyType: Sendable {
        /// P-256 ECDSA: made in milliseconds.
        case ecdsa
        /// RSA 2048: slower to make (about a second), needed to show RSA key exchange refused.
        case rsa
    }

    /// The directory holding every file; mode 0700, made by mkdtemp(3).
    public let directory: String

    public init(_ label: String = "guide-pki") throws {
        var template = Array("\(FileManager.default.temporaryDirectory.path)/\(label)-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw PKIError(description: "pki: mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        liveDirectories.withLock { _ = $0.insert(directory) }
        _ = removeAtExit
    }

    deinit { remove() }

    /// Deletes the directory and every key in it (once, even if `exit` is at it too).
    public func remove() {
        liveDirectories.withLock { live in
            if live.remove(directory) != nil { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    // ANCHOR: authority
    /// A certificate authority: a self-signed certificate allowed to sign others.
    public func authority(_ commonName: String, file: String) throws -> Identity {
        let key = try makeKey(file, .ecdsa)
        try write(
            file + ".ext",
            """
            basicConstraints = critical, CA:TRUE
            keyUsage = critical, keyCertSign, cRLSign
            subjectKeyIdentifier = hash
            """)
        return try sign(file, commonName: commonName, key: key, by: nil, days: 1)
    }
    // ANCHOR_END: authority

    // ANCHOR: server
    /// A server certificate for `names` (host names and IP addresses), signed by `authority`
    /// (nil: by its own key, a self-signed certificate). `expired`: its validity ended
    /// yesterday. `commonNameOnly`: the first name goes in the subject's Common Name alone,
    /// with no subjectAltName, the way certificates were made before RFC 6125.
    public func server(
        _ file: String, names: [String], signedBy authority: Identity?,
        key type: KeyType = .ecdsa, expired: Bool = false, commonNameOnly: Bool = false
    ) throws -> Identity {
        let key = try makeKey(file, type)
        let alternativeNames = names.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }
        try write(
            file + ".ext",
            """
            basicConstraints = critical, CA:FALSE
            keyUsage = critical, digitalSignature\(type == .rsa ? ", keyEncipherment" : "")
            extendedKeyUsage = serverAuth
            \(commonNameOnly ? "" : "subjectAltName = " + alternativeNames.joined(separator: ", "))
            """)
        return try sign(file, commonName: names.first ?? file, key: key, by: authority, days: expired ? -1 : 1)
    }
    // ANCHOR_END: server

    // ANCHOR: commands
    /// `openssl genpkey` writes a private key readable by its owner only (mode 0600).
    private func makeKey(_ file: String, _ type: KeyType) throws -> String {
        let path = "\(directory)/\(file).key"
        let algorithm = type == .rsa ? ["RSA", "rsa_keygen_bits:2048"] : ["EC", "ec_paramgen_curve:P-256"]
        try openssl("genpkey", "-algorithm", algorithm[0], "-pkeyopt", algorithm[1], "-out", path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)  // whatever the umask
        return path
    }

    /// A request for `commonName`, then `openssl x509 -req` signs it with the extensions
    /// in `file.ext`: by the authority, or by the request's own key.
    private func sign(_ file: String, commonName: String, key: String, by authority: Identity?, days: Int) throws
        -> Identity
    {
        let base = "\(directory)/\(file)"
        try openssl("req", "-new", "-key", key, "-subj", "/O=Guide test PKI/CN=\(commonName)", "-out", base + ".csr")
        let signer = authority.map { ["-CA", $0.certificateFile, "-CAkey", $0.keyFile] } ?? ["-signkey", key]
        try openssl(
            [
                "x509", "-req", "-in", base + ".csr", "-days", String(days), "-set_serial",
                String(UInt32.random(in: 1...UInt32.max)),
                "-extfile", base + ".ext", "-out", base + ".pem",
            ] + signer)
        return Identity(name: commonName, certificateFile: base + ".pem", keyFile: key)
    }
    // ANCHOR_END: commands

    /// The base64 SHA-256 of a certificate's public key (its SubjectPublicKeyInfo): what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes to trust that one key.
    public func spkiPin(of certificate: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c",
            "openssl x509 -in \"$0\" -noout -pubkey | openssl pkey -pubin -outform DER "
                + "| openssl dgst -sha256 -binary | openssl base64 -A", certificate,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pin = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, pin.count == 44 else {
            throw PKIError(description: "pki: could not compute the SPKI hash of \(certificate)")
        }
        return pin
    }

    private func write(_ file: String, _ text: String) throws {
        try (text + "\n").write(toFile: "\(directory)/\(file)", atomically: false, encoding: .utf8)
    }

    private func openssl(_ arguments: String...) throws { try openssl(arguments) }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let errors = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            if process.terminationStatus == 127 {
                throw PKIError(
                    description: "pki: the openssl command is missing: install it with `apt-get install openssl`")
            }
            let last = text.split(separator: "\n").last.map(String.init) ?? "exit status \(process.terminationStatus)"
            throw PKIError(description: "pki: openssl \(arguments[0]) failed: \(last)")
        }
    }
}

/// True for an IPv4 or IPv6 address written as digits (those go in as `IP:` names).
private func isIPAddress(_ name: String) -> Bool {
    var v4 = in_addr(), v6 = in6_addr()
    return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
}

/// Directories still on disk, deleted by `exit` even if their owner never went away
/// (a lab stopped with Ctrl-C exits through `exit(0)` too). Deleting holds the lock, so
/// an owner's `remove()` racing the exit handler never leaves half a directory behind.
private let liveDirectories = Mutex<Set<String>>([])
private let removeAtExit: Void = {
    atexit {
        liveDirectories.withLock { live in
            for directory in live { try? FileManager.default.removeItem(atPath: directory) }
            live.removeAll()
        }
    }
}()
