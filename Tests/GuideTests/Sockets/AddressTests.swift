import Sockets
import Testing

// Parsing only: these addresses are never contacted. Documentation addresses (RFC 5737,
// RFC 3849) where any address will do, so no test looks like it talks to a fixed port.
@Suite struct AddressTests {
    @Test(arguments: [
        ("192.0.2.1:8080", "192.0.2.1:8080", true),
        ("[2001:db8::1]:443", "[2001:db8::1]:443", false),
        ("[::]:0", "[::]:0", false),
        ("0.0.0.0:65535", "0.0.0.0:65535", true),
        ("[fe80::1:2]:53", "[fe80::1:2]:53", false),
        ("[::ffff:127.0.0.1]:80", "127.0.0.1:80", false),  // Go prints mapped IPv4 as IPv4
    ])
    func parsesAndPrintsBothFamilies(text: String, printed: String, isIPv4: Bool) throws {
        let address = try Address(text)
        #expect(address.description == printed)
        #expect(address.ip.isIPv4 == isIPv4)
    }

    @Test(arguments: [
        ("127.0.0.1", "address 127.0.0.1: missing port in address"),
        ("::1:80", "address ::1:80: too many colons in address"),
        ("[::1:80", "address [::1:80: missing ']' in address"),
        ("[::1]:80:1", "address [::1]:80:1: too many colons in address"),
        ("1[2]:80", "address 1[2]:80: unexpected '[' in address"),
        ("[::1]80", "address [::1]80: missing port in address"),
        ("[::1:80]", "address [::1:80]: missing port in address"),
        ("127.0.0.1:http", "address http: invalid port"),
        ("192.0.2.1:65536", "address 65536: invalid port"),
        ("127.0.0.1:-1", "address -1: invalid port"),
        ("localhost:80", "address localhost:80: not a numeric IP"),
        ("256.0.0.1:80", "address 256.0.0.1:80: not a numeric IP"),
        (":80", "address :80: missing host in address"),
    ])
    func rejectsBadForms(text: String, message: String) {
        #expect { try Address(text) } throws: { ($0 as? AddressError)?.description == message }
    }

    @Test func splitsLikeGo() throws {
        #expect(try Address.split(":8080") == ("", 8080))
        #expect(try Address.split("[::1]:0") == ("::1", 0))
        #expect(try Address.split("example.test:53") == ("example.test", 53))
        #expect(try Address.split("127.0.0.1:") == ("127.0.0.1", 0), "Go: an empty port is port 0")
    }

    @Test func survivesTheTripThroughTheKernel() throws {
        for text in ["127.0.0.1:0", "[::1]:0"] {
            let socket = try Socket(family: try Address(text).family, type: .datagram)
            defer { socket.close() }
            try socket.bind(try Address(text))
            let bound = try #require(try socket.localAddress())
            #expect(bound.ip == (try Address(text)).ip)
            #expect(bound.port != 0, "the kernel picks a real port for port 0")
        }
    }

    @Test func knowsLoopback() throws {
        #expect(IP("127.1.2.3")!.isLoopback)
        #expect(IP("::1")!.isLoopback)
        #expect(IP("::ffff:127.0.0.1")!.isLoopback)
        #expect(!IP("10.0.0.1")!.isLoopback)
        #expect(IP("not an ip") == nil)
    }
}
