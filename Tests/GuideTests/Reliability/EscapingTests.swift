// Also in issue 10: nonblocking-recvfrom printed a sender's bytes raw, so escape sequences
// and bidi overrides from the network reached the terminal. Bytes are now escaped as Go's
// `%q` escapes them (LabKit's `escaped` and `quoted`).
import Foundation
import LabKit
import Sockets
import Testing

@Suite struct EscapingTests {
    @Test(arguments: [
        (Array("plain text".utf8), "\"plain text\""),
        (Array("\r\n\t\u{7}\u{8}\u{c}\u{b}".utf8), #""\r\n\t\a\b\f\v""#),
        ([0x1B] + Array("[31mred".utf8), #""\x1b[31mred""#),
        (Array("say \"hi\" \\".utf8), #""say \"hi\" \\""#),
        (Array("caf\u{e9} \u{1F600}".utf8), "\"caf\u{e9} \u{1F600}\""),  // printable: as they are
        (Array("abc\u{202E}fed".utf8), #""abc\u202efed""#),  // a right-to-left override
        (Array("zero\u{200B}width".utf8), #""zero\u200bwidth""#),
        (Array("\u{85}\u{A0}".utf8), #""\u0085\u00a0""#),  // a C1 control; a no-break space (Go: not printable)
        ([0xFF, 0xC3, 0x28, 0x7F, 0x00], #""\xff\xc3(\x7f\x00""#),  // not UTF-8; DEL; NUL
        ([0xED, 0xA0, 0x80], #""\xed\xa0\x80""#),  // an encoded surrogate is invalid, byte by byte
        ([0xC0, 0xAF], #""\xc0\xaf""#),  // an overlong "/"
        (Array("\u{E000}".utf8), #""\ue000""#),  // private use
    ])
    func quotesAsGoDoes(bytes: [UInt8], expected: String) {
        #expect(quoted(bytes) == expected)
    }

    /// The lab, receiving what a hostile sender would send a terminal.
    @Test func nonblockingRecvfromEscapesWhatItPrints() async throws {
        let receiver = try await RunningLab("nonblocking-recvfrom", ["--listen", "127.0.0.1:0", "--count", "1"])
        let target = try Address(try await receiver.address)
        let sender = try PacketConn("udp", "127.0.0.1:0")
        defer { sender.close() }
        try sender.writeTo([0x1B] + Array("]0;owned\u{7}abc\u{202E}fed".utf8) + [0xFF, 0x0A], target)
        let done = try await receiver.wait()
        #expect(done.status == 0)
        #expect(done.lines.last == #"\#(sender.localAddress): \x1b]0;owned\aabc\u202efed\xff"#)
    }
}
