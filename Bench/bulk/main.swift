// The Swift side of `make bench`'s bulk throughput (Chapters/A1-benchmarks.md): the socket
// module's blocking Connection, as a reader of chapters 3 and 6 would use it.
//   bulk --listen ADDR --buffer N                 read and discard, a thread per connection
//   bulk --dial ADDR --buffer N --seconds S       write N bytes at a time for S seconds: bytes/s
import LabKit
import Sockets

let lab = Lab(
    name: "bulk",
    usage: """
        bulk: TCP bulk throughput with the socket module, for make bench.

        usage:
          bulk --listen ADDR --buffer N              read and discard, N bytes per read()
          bulk --dial ADDR --buffer N --seconds S    write N bytes per write() for S seconds; print bytes/s
        """)

lab.run { arguments in
    let listen = try arguments.address("--listen")
    let target = try arguments.address("--dial")
    let size = try arguments.count("--buffer") ?? 65_536
    let seconds = try arguments.count("--seconds") ?? 3
    try arguments.finish()
    guard size <= 16 << 20 else { throw UsageError("--buffer: at most 16 MiB") }
    if let listen {
        let listener = try Listener("tcp", listen)
        say("listening on \(listener.address)")
        while true {
            let connection = try listener.accept()
            _ = BackgroundThread("reader") {
                defer { connection.close() }
                var buffer = [UInt8](repeating: 0, count: size)
                while let count = try? connection.read(into: &buffer), count > 0 {}
            }
        }
    }
    guard let target else { throw UsageError("--listen or --dial") }
    let connection = try dial("tcp", target)
    defer { connection.close() }
    let buffer = [UInt8](repeating: 0x61, count: size)
    let start = ContinuousClock.now, end = start + .seconds(seconds)
    var total = 0
    while ContinuousClock.now < end {
        try connection.write(buffer)
        total += size
    }
    let elapsed = ContinuousClock.now - start
    let perSecond = Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    say("bytes/s \(Int(perSecond))")
}
