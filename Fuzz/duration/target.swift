// libFuzzer target: durations as a user types them (`--timeout 1m30s`). Any string must
// parse or give Go's error, never trap (issue 10's first fault was an overflowing sum);
// what parses prints, Go's way, as text that parses back to the same duration.
import Sockets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let duration = try? Duration(go: text) else { return 0 }
    let printed = duration.goDescription
    guard let reread = try? Duration(go: printed), reread == duration else {
        fatalError("\(text) is \(printed), which does not read back the same")
    }
    _ = duration.rounded(to: .microseconds(100))
    return 0
}
