// Go's `bufio.Reader` and `io.ReadFull` for a connection: one `read` returns whatever has
// arrived, which is rarely one message, so a reader keeps what it has read in a buffer and
// hands it out in the pieces a protocol wants: exactly N bytes, one line, or what has come.

/// What a `BufferedReader` reads from: a connection, plain (`Connection`) or TLS. Go's
/// `io.Reader`, with the connection's way of naming an error.
public protocol ByteReader: AnyObject {
    /// Reads what has arrived, at most `buffer.count` bytes, waiting for at least one. 0: EOF.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    func read(into buffer: inout [UInt8]) throws(NetError) -> Int
    /// An error for this connection's reads: `read tcp 127.0.0.1:40211: REASON`.
    func readFailure(_ reason: String) -> NetError
}

extension Connection: ByteReader {
    public func readFailure(_ reason: String) -> NetError {
        NetError(
            op: "read", network: network, local: localAddress, remote: remoteAddress?.description,
            reason: .other(reason))
    }
}

/// A buffer in front of a `ByteReader`. Not for sharing between threads: one reader per connection.
public final class BufferedReader {
    public let source: any ByteReader
    private var pending: [UInt8] = []  // read from the source, not yet handed out: pending[start...]
    private var start = 0
    private let chunk: Int
    /// How many `read` calls reached the source: one message may take many, or many messages one.
    public private(set) var reads = 0

    public init(_ source: any ByteReader, chunk: Int = 16_384) {
        self.source = source
        self.chunk = chunk
    }

    /// Bytes read from the source and not yet handed out.
    public var buffered: Int { pending.count - start }

    /// How a `readLine` failed when the source itself did not: a protocol that answers the
    /// two differently (HTTP: 414 or 431 for a line too long, 400 for a head cut short)
    /// reads `lineFailure` after catching the error, whose text stays Go's.
    public enum LineFailure: Sendable, Equatable {
        case tooLong
        case endedInside
    }
    /// Why the last `readLine` threw; nil when it returned, or when the source's read failed.
    public private(set) var lineFailure: LineFailure?

    // ANCHOR: read-full
    /// Go's `io.ReadFull`: exactly `count` bytes, however many reads they take. nil: the
    /// stream ended cleanly before the first byte (Go's `io.EOF`). Ending after some of them
    /// is an error, `unexpected EOF` (Go's `io.ErrUnexpectedEOF`): the message was cut short.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func readFull(_ count: Int) throws(NetError) -> [UInt8]? {
        while buffered < count {
            guard try fill(atLeast: count - buffered) else {
                if buffered == 0 { return nil }
                throw source.readFailure("unexpected EOF")
            }
        }
        return take(count, skipping: 0)
    }
    // ANCHOR_END: read-full

    // ANCHOR: read-line
    /// One line, without its `\n` (or `\r\n`). nil: the stream ended cleanly before it.
    /// A line longer than `maxLength` bytes fails before more is read, so a peer that never
    /// sends `\n` cannot make us buffer without end; EOF inside a line is `unexpected EOF`.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func readLine(maxLength: Int) throws(NetError) -> [UInt8]? {
        lineFailure = nil
        var searched = 0  // bytes already known to hold no `\n`
        while true {
            if let newline = pending[(start + searched)...].firstIndex(of: 0x0A) {
                var length = newline - start
                guard length <= maxLength + 1 else { break }  // + 1: a `\r` before the `\n`
                if length > 0 && pending[newline - 1] == 0x0D { length -= 1 }
                guard length <= maxLength else { break }
                return take(length, skipping: newline - start + 1 - length)
            }
            searched = buffered
            guard searched <= maxLength + 1 else { break }
            guard try fill(atLeast: 1) else {
                if buffered == 0 { return nil }
                lineFailure = .endedInside
                throw source.readFailure("unexpected EOF")
            }
        }
        lineFailure = .tooLong
        throw source.readFailure("line longer than \(maxLength) bytes")
    }
    // ANCHOR_END: read-line

    /// Go's `Read` on a `bufio.Reader`: up to `count` bytes, what is buffered first, else
    /// one read of the source. [] at EOF. For a body read by its length, piece by piece.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func read(upTo count: Int) throws(NetError) -> [UInt8] {
        if buffered == 0, try !fill(atLeast: 1) { return [] }
        return take(min(count, buffered), skipping: 0)
    }

    /// Waits until at least one byte is buffered, reading nothing more if one is. false: the
    /// stream ended first. A server waits so between requests, under its idle timeout.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func waitForByte() throws(NetError) -> Bool {
        buffered > 0 ? true : try fill(atLeast: 1)
    }

    /// Hands out `count` bytes, then drops `skipping` more (a line's end).
    private func take(_ count: Int, skipping: Int) -> [UInt8] {
        let bytes = Array(pending[start..<start + count])
        start += count + skipping
        if start == pending.count {
            pending.removeAll(keepingCapacity: true)
            start = 0
        }
        return bytes
    }

    /// One read from the source onto the end of the buffer. false at EOF. Asks for up to
    /// `chunk` bytes, or as many as are still `wanted` when that is more (a 1 MiB message:
    /// room for all of it, so it arrives in as few reads as the kernel allows).
    private func fill(atLeast wanted: Int) throws(NetError) -> Bool {
        if start > 0 {
            pending.removeFirst(start)
            start = 0
        }
        var buffer = [UInt8](repeating: 0, count: max(chunk, min(wanted, 1 << 20)))
        let count = try source.read(into: &buffer)
        reads += 1
        guard count > 0 else { return false }
        pending += buffer[..<count]
        return true
    }
}
