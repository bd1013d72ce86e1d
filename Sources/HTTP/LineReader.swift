// A byte stream read a line at a time, as HTTP/1.1's head is written (RFC 9112 §2.2):
// each line ends in CRLF (a bare LF is accepted too), and no line may run on forever.
// Bytes are read from the connection in chunks; what comes after a line waits in the
// buffer for the next call, so a client that sends two requests in one packet loses
// neither. (Chapter 10's framing builds the same kind of reader into the socket module;
// this one is the HTTP module's own, small enough to read in one go.)

public final class LineReader {
    /// Reads what has arrived into the buffer and returns how many bytes; 0 at the end.
    public typealias Source = (inout [UInt8]) throws -> Int

    public enum Failure: Error, Equatable {
        /// `limit` bytes went by without a line feed.
        case lineTooLong
        /// The stream ended in the middle of a line.
        case endInsideLine
    }

    private let source: Source
    private var chunk = [UInt8](repeating: 0, count: 4096)
    private var pending: [UInt8] = []
    private var start = 0  // pending[..<start] has been handed out already

    public init(_ source: @escaping Source) { self.source = source }

    /// Bytes read from the stream but not yet handed out.
    public var buffered: Int { pending.count - start }

    /// Waits until at least one byte is buffered. false: the stream ended first.
    public func fill() throws -> Bool {
        if buffered > 0 { return true }
        return try readMore()
    }

    /// The next line without its CRLF (or LF). nil: the stream ended before its first byte.
    /// At most `limit` bytes, terminator included, are read looking for the line feed.
    public func readLine(limit: Int) throws -> [UInt8]? {
        var searched = start
        while true {
            if let newline = pending[searched...].firstIndex(of: 0x0A), newline - start < limit {
                var line = Array(pending[start..<newline])
                if line.last == 0x0D { line.removeLast() }
                start = newline + 1
                compact()
                return line
            }
            searched = pending.count
            guard buffered < limit else { throw Failure.lineTooLong }
            guard try readMore() else {
                if buffered == 0 { return nil }
                throw Failure.endInsideLine
            }
        }
    }

    /// Up to `count` bytes: what is buffered first, then one read of the stream. [] at the end.
    public func read(upTo count: Int) throws -> [UInt8] {
        if buffered == 0, try !readMore() { return [] }
        let taken = Array(pending[start..<min(pending.count, start + count)])
        start += taken.count
        compact()
        return taken
    }

    private func readMore() throws -> Bool {
        let count = try source(&chunk)
        guard count > 0 else { return false }
        pending += chunk[..<count]
        return true
    }

    /// Drops what was handed out, once it is most of the buffer, so the buffer stays small.
    private func compact() {
        if start > 0 && start * 2 >= pending.count {
            pending.removeFirst(start)
            start = 0
        }
    }
}
