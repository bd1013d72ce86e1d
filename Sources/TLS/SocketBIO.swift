// OpenSSL does the cryptography; the bytes travel through a BIO, OpenSSL's I/O plug.
// Its ready-made socket BIO calls write(2), which raises SIGPIPE when the peer has hung
// up and kills the process, unless the whole process ignores SIGPIPE. We plug in our
// own BIO instead: two callbacks that call the Sockets module's `read` and `send`
// (MSG_NOSIGNAL: a hang-up is an EPIPE error, no signal), each without waiting. When a
// call would block, OpenSSL returns "want read" or "want write" and our Swift code
// waits in poll(2) until the deadline. Every wait is ours, so every wait can time out.
import COpenSSL
import Sockets

/// What the BIO's callbacks work on. One per connection; used only inside OpenSSL calls
/// made by its `TLSConnection` with the connection's lock held.
final class SocketTransport {
    let socket: Socket
    /// The system call that failed inside OpenSSL, kept for the error message
    /// (`read: connection reset by peer`); OpenSSL itself only records "syscall failed".
    var failure: SystemError?
    /// Raw TLS bytes moved, records and all: what a write of one byte really costs.
    var bytesSent = 0
    var bytesReceived = 0
    /// The peer closed its side (a read returned 0). OpenSSL asks, to tell a TCP close from
    /// a failed read.
    var atEOF = false
    /// Where the incoming bytes stand in TLS's framing (a 5-byte header whose last two
    /// bytes give the length of the body that follows): a close between two records is a
    /// clean end, as Go treats it; a close inside one is a cut.
    private var header: [UInt8] = []
    private var bodyLeft = 0
    var atRecordBoundary: Bool { header.isEmpty && bodyLeft == 0 }
    /// Every protocol message so far, in order (see `MessageLog`).
    var messages: [TLSMessage] = []

    init(socket: Socket) { self.socket = socket }

    func track(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        while let first = rest.first {
            if bodyLeft > 0 {
                let body = min(bodyLeft, rest.count)
                bodyLeft -= body
                rest = rest.dropFirst(body)
            } else {
                header.append(first)
                rest = rest.dropFirst()
                if header.count == 5 { (bodyLeft, header) = (Int(header[3]) << 8 | Int(header[4]), []) }
            }
        }
    }
}

// ANCHOR: bio
enum SocketBIO {
    /// A new BIO bound to `transport`, which must outlive it (the connection holds both).
    static func make(for transport: SocketTransport) -> OpaquePointer? {
        guard let bio = BIO_new(method.pointer) else { return nil }
        BIO_set_data(bio, Unmanaged.passUnretained(transport).toOpaque())
        BIO_set_init(bio, 1)
        return bio
    }

    private static func transport(_ bio: OpaquePointer?) -> SocketTransport {
        Unmanaged<SocketTransport>.fromOpaque(BIO_get_data(bio)).takeUnretainedValue()
    }

    /// OpenSSL wants `length` more bytes: give what has arrived, 0 at EOF, or "retry".
    private static let read: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int32) -> Int32 = {
        bio, data, length in
        let transport = transport(bio)
        shim_BIO_clear_retry_flags(bio)
        do throws(SystemError) {
            let buffer = UnsafeMutableRawBufferPointer(start: data, count: Int(length))
            switch try transport.socket.read(into: buffer, dontWait: true) {
            case .done(let count):
                transport.bytesReceived += count
                transport.atEOF = count == 0
                transport.track(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                return Int32(count)
            case .wouldBlock:
                shim_BIO_set_retry_read(bio)
                return -1
            }
        } catch {
            transport.failure = error
            return -1
        }
    }

    /// OpenSSL has a record to send: take what the kernel will, or "retry".
    private static let write: @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
        bio, data, length in
        let transport = transport(bio)
        shim_BIO_clear_retry_flags(bio)
        do throws(SystemError) {
            switch try transport.socket.send(UnsafeRawBufferPointer(start: data, count: Int(length)), dontWait: true) {
            case .done(let count):
                transport.bytesSent += count
                return Int32(count)
            case .wouldBlock:
                shim_BIO_set_retry_write(bio)
                return -1
            }
        } catch {
            transport.failure = error
            return -1
        }
    }

    /// Control requests: "flush" succeeds (nothing is buffered here), "at EOF?" is answered,
    /// the rest are unsupported.
    private static let control: @convention(c) (OpaquePointer?, Int32, Int, UnsafeMutableRawPointer?) -> Int = {
        bio, command, _, _ in
        switch command {
        case BIO_CTRL_FLUSH: return 1
        case BIO_CTRL_EOF: return transport(bio).atEOF ? 1 : 0
        default: return 0
        }
    }

    /// The BIO type, made once for the whole process (a lazily initialised `let`).
    private static let method = Method()

    private final class Method: @unchecked Sendable {  // written once here, read-only after
        let pointer: OpaquePointer
        init() {
            guard let method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "Sockets.Socket") else {
                fatalError("BIO_meth_new: out of memory")
            }
            pointer = method
            BIO_meth_set_read(pointer, SocketBIO.read)
            BIO_meth_set_write(pointer, SocketBIO.write)
            BIO_meth_set_ctrl(pointer, SocketBIO.control)
        }
    }
}
// ANCHOR_END: bio
