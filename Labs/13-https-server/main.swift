// Lab 13: HTTPS, as the source's 4.1.2 and 4.2.3 promised and never showed: HTTP/1.1
// (RFC 9112) over lab 7's TLS. Requests are read with limits and timeouts; files come
// from a root no request path escapes; one connection carries many requests. A client of
// our own sends real requests; curl and a real browser are the tests' clients.
import Foundation
import HTTP
import LabKit
import Sockets
import TLS
import TestPKI

let lab = Lab(
    name: "https-server",
    usage: """
        https-server: HTTP/1.1 over TLS, files from a directory, nothing outside it ever served.

        usage:
          https-server                        run the demo on loopback (what `make lab-13` does)
          https-server --listen ADDR --cert FILE --key FILE [--root DIR] [--count N]
                       [--header-timeout D] [--idle-timeout D]
                                              serve GET and HEAD of the files under DIR (without
                                              --root, a built-in page at /); stop after N
                                              connections (default: never); a request head must
                                              arrive within D of its first byte (default 10s);
                                              close a connection idle for D (default 30s)
          https-server --listen ADDR --make-ca FILE [--root DIR] [--count N] ...
                                              the same with a throwaway CA and a certificate for
                                              localhost, 127.0.0.1 and ::1 (keys deleted at exit);
                                              the CA's certificate is written to FILE
          https-server --get URL... [--ca FILE]
                                              GET each https:// URL, all on one connection;
                                              bodies to stdout, a line per response to stderr
          https-server --help                 this text
        """)

lab.run { arguments in
    if arguments.flag("--get") {
        let caFile = try arguments.value("--ca")
        let urls = arguments.positionals()
        try arguments.finish()
        return try get(urls, caFile: caFile)
    }
    let address = try arguments.address("--listen")
    let certificate = try arguments.value("--cert")
    let key = try arguments.value("--key")
    let makeCA = try arguments.value("--make-ca")
    let root = try arguments.value("--root")
    let count = try arguments.count("--count")
    let headerTimeout = try arguments.duration("--header-timeout")
    let idleTimeout = try arguments.duration("--idle-timeout")
    try arguments.finish()
    guard let address else {
        if [certificate, key, makeCA, root].contains(where: { $0 != nil }) || count != nil || headerTimeout != nil
            || idleTimeout != nil
        {
            throw UsageError("--cert, --key, --make-ca, --root, --count and the timeouts go with --listen")
        }
        return try demo()
    }
    var settings = ServerSettings()
    if let root {
        guard let staticRoot = StaticRoot(root) else { throw UsageError("--root \(root): not a directory") }
        settings.root = staticRoot
    }
    if let headerTimeout { settings.headerTimeout = headerTimeout }
    if let idleTimeout { settings.idleTimeout = idleTimeout }
    var pki: TestPKI?
    let identity: (certificate: String, key: String)
    switch (certificate, key, makeCA) {
    case let (certificate?, key?, nil): identity = (certificate, key)
    case (nil, nil, let caFile?):
        pki = try TestPKI("https-server")
        let made = try throwawayIdentity(pki!, writingCATo: caFile)
        identity = (made.certificateFile, made.keyFile)
    default: throw UsageError("--listen needs --cert FILE and --key FILE, or --make-ca FILE")
    }
    let listener = try TLSListener(
        "tcp", address, TLSContext(.server, serverConfig(certificate: identity.certificate, key: identity.key)))
    say("listening on \(listener.address)")
    if let makeCA, let pki {
        tellHowToBrowse(listener.address, caFile: makeCA, pki: pki, certificate: identity.certificate)
    }
    serve(listener, settings, count: count, log: ServerLog(request: { say($0) }, failure: { warn($0) }))
    withExtendedLifetime(pki) {}
}

/// A CA and a server certificate, made now; the CA's certificate (never a key) copied to `file`.
func throwawayIdentity(_ pki: TestPKI, writingCATo file: String) throws -> Identity {
    let ca = try pki.authority("Guide Book CA (throwaway)", file: "ca")
    let server = try pki.server("localhost", names: ["localhost", "127.0.0.1", "::1"], signedBy: ca)
    if FileManager.default.fileExists(atPath: file) { try FileManager.default.removeItem(atPath: file) }
    try FileManager.default.copyItem(atPath: ca.certificateFile, toPath: file)
    return server
}

/// How to open the served pages in a browser that trusts the throwaway CA.
func tellHowToBrowse(_ address: Address, caFile: String, pki: TestPKI, certificate: String) {
    let loopback = ["127.0.0.1:", "[::1]:"].contains { address.description.hasPrefix($0) }
    let url = loopback ? "https://localhost:\(address.port)/" : "https://\(address)/"
    let pin = (try? pki.spkiPin(of: certificate)) ?? "(openssl could not compute it)"
    say("the CA's certificate is in \(caFile); its key is deleted when this server stops")
    say("open \(url) in a browser that trusts it:")
    say("  curl --cacert \(caFile) \(url)")
    say("  chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=\(pin) \(url)")
    say("  or import \(caFile) as an authority in your browser's certificate settings")
}
