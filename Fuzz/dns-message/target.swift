// libFuzzer target: DNS messages as a server (or a forger) might send them. Whatever the
// bytes, parsing must end with a message or a DNSFormatError: never a trap, a hang or a
// read out of bounds. A message that parses is also encoded again and its chains walked.
import DNS
import Sockets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? DNSMessage.peek(bytes)
    guard let message = try? DNSMessage(parsing: bytes) else { return 0 }
    for question in message.questions.prefix(4) {
        _ = message.addresses(answering: question)
        _ = question.name.description
    }
    for record in message.answers + message.authorities + message.additionals {
        _ = record.name.description
    }
    // What we write, we must read back the same (names compare without regard to case).
    let again = message.encoded()
    guard let reread = try? DNSMessage(parsing: again), reread == message else {
        fatalError("a parsed message, encoded again, does not read back the same")
    }
    return 0
}
