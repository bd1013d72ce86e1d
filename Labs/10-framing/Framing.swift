// The protocol: a message is its payload's length as 4 bytes, most significant first
// (big-endian, "network byte order"), then the payload. Go writes the header with
// `binary.BigEndian.PutUint32` and reads a message with two `io.ReadFull` calls.
import Sockets

// ANCHOR: limit
/// The largest payload we accept. A length is a number the peer sent: believed blindly,
/// 0xFFFFFFFF would have us wait for (and buffer) 4 GiB.
let maxPayload = 1 << 20  // 1 MiB
// ANCHOR_END: limit

// ANCHOR: frame
/// One message as bytes on the wire: the 4-byte big-endian length, then the payload.
func frame(_ payload: [UInt8]) -> [UInt8] {
    precondition(payload.count <= maxPayload, "our own messages keep to the limit")
    // BEGIN SOLUTION: put the payload's length in front of it as 4 bytes, most significant byte first (big-endian) § Length-prefixed messages
    let length = UInt32(payload.count)
    return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
        + payload
    // END SOLUTION
}

/// Header and payload in one write: two writes would be two system calls, and with
/// Nagle's algorithm the second can wait for the peer's ACK of the first.
func writeMessage(_ payload: [UInt8], to connection: Connection) throws(NetError) {
    try connection.write(frame(payload))
}
// ANCHOR_END: frame

// ANCHOR: read-message
/// The next message's payload, however the bytes were split on the way. nil: the peer
/// closed between two messages, the normal end. EOF inside a message is an error.
func readMessage(from reader: BufferedReader) throws(NetError) -> [UInt8]? {
    // BEGIN SOLUTION: readFull the 4-byte header (nil: EOF between messages), decode it big-endian, refuse a length over maxPayload before reading the payload, then readFull the payload § Length-prefixed messages
    guard let header = try reader.readFull(4) else { return nil }
    let length = header.reduce(0) { $0 << 8 | Int($1) }
    guard length <= maxPayload else {
        throw reader.source.readFailure("message of \(length) bytes is over the \(maxPayload)-byte limit")
    }
    guard let payload = try reader.readFull(length) else { throw reader.source.readFailure("unexpected EOF") }
    return payload
    // END SOLUTION
}
// ANCHOR_END: read-message
