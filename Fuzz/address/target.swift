// libFuzzer target: addresses as a user types them on a lab's command line (`--dial`,
// `--listen`): `host:port`, `[v6]:port`, bare IPs. Any string must parse or throw, never
// trap; what parses prints as text that parses back and prints the same. (Not always the
// same value: `[::ffff:192.0.2.1]:443` prints as `192.0.2.1:443`, as in Go.)
import Sockets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? Address.split(text)
    if let address = try? Address(text) {
        guard let reread = try? Address(address.description), reread.description == address.description else {
            fatalError("\(address) does not read back as itself")
        }
    }
    if let ip = IP(text), IP(ip.description)?.description != ip.description {
        fatalError("\(ip) does not read back as itself")
    }
    return 0
}
