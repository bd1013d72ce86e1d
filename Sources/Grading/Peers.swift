// The other end of a check: small peers built from the Sockets module, on loopback, each
// on a thread of its own, every wait bounded by the check's deadline, every socket
// closed when the check ends.
import Foundation
import Sockets

extension CheckContext {
    /// A TCP server for one connection on `host` port 0. Once a client connects, `script`
    /// runs with the connection on the server's thread; the connection is closed after it.
    public func tcpServer(
        host: String = "127.0.0.1",
        _ script: @escaping @Sendable (Connection) throws -> Void
    ) throws -> OneConnectionServer {
        let server = try OneConnectionServer(host: host, until: deadline, script)
        onCleanup { server.stop() }
        note("peer: TCP server listening on \(server.address)")
        return server
    }

    /// A UDP socket on `host` port 0 for sending datagrams to the lab.
    public func udpSender(host: String = "127.0.0.1") throws -> PacketConn {
        let conn = try PacketConn("udp", host.contains(":") ? "[\(host)]:0" : "\(host):0")
        onCleanup { conn.close() }
        return conn
    }

    /// A loopback port nobody listens on: connecting to it is refused at once.
    public func closedPort() throws -> UInt16 {
        let listener = try Listener("tcp", "127.0.0.1:0")
        defer { listener.close() }
        return listener.address.port
    }

    /// A TCP listener on `host` port 0 that never accepts, its accept queue full: Linux
    /// drops every SYN sent to it, so a connect to it hears nothing and waits, as if the
    /// server's machine had vanished. Closed when the check ends.
    public func fullQueue(host: String = "127.0.0.1") throws -> Address {
        let listener = try Listener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0", backlog: 0)
        onCleanup { listener.close() }
        // Backlog 0 queues one finished handshake: connect until a connect does not finish.
        for queued in 0..<8 {
            let connection: Connection
            do {
                connection = try dial("tcp", listener.address.description, timeout: .milliseconds(250))
            } catch {
                guard error.isTimeout else { throw error }
                note(
                    "peer: TCP listener on \(listener.address), backlog 0, never accepting; its accept queue is "
                        + "full (\(queued) waiting), so the kernel drops every new SYN")
                return listener.address
            }
            onCleanup { connection.close() }
        }
        throw CheckError("could not fill an accept queue on \(listener.address)")
    }

    /// Sleeps the check's thread (checks run on threads of their own, never in tasks).
    public func pause(_ duration: Duration) { Grading.pause(duration) }
}

/// Sleeps a check's or a peer's thread.
public func pause(_ duration: Duration) {
    let (whole, fraction) = duration.components
    Thread.sleep(forTimeInterval: Double(whole) + Double(fraction) / 1e18)
}

public final class OneConnectionServer: Sendable {
    public let listener: Listener
    private let done = DispatchSemaphore(value: 0)

    init(
        host: String, until deadline: ContinuousClock.Instant,
        _ script: @escaping @Sendable (Connection) throws -> Void
    ) throws {
        listener = try Listener("tcp", host.contains(":") ? "[\(host)]:0" : "\(host):0")
        Thread { [listener, done] in
            defer { done.signal() }
            // Wait in poll, not in accept, so a lab that never connects cannot hold us.
            guard (try? listener.socket.wait(for: .readable, until: Deadline(deadline))) == true,
                let connection = try? listener.accept()
            else { return }
            defer { connection.close() }
            // The script's reads and writes give up at the check's deadline too.
            connection.setReadDeadline(Deadline(deadline))
            connection.setWriteDeadline(Deadline(deadline))
            try? script(connection)
        }.start()
    }

    /// `127.0.0.1:PORT` or `[::1]:PORT`.
    public var address: String { listener.address.description }

    /// Waits (until `deadline`) for the script to finish. False: it is still running.
    public func finish(until deadline: ContinuousClock.Instant) -> Bool {
        let left = max(.zero, deadline - .now)
        let (whole, fraction) = left.components
        return done.wait(timeout: .now() + Double(whole) + Double(fraction) / 1e18) == .success
    }

    /// Closes the listener once the server's thread is done with it (closing a socket
    /// under another thread's system call could hand that call a reused descriptor).
    func stop() {
        if finish(until: .now + .seconds(2)) { listener.close() }
    }
}

extension Connection {
    /// Abortive close: `SO_LINGER` with a zero timeout makes `close` send RST, not FIN.
    public func reset() {
        try? socket.setOption(SOL_SOCKET, SO_LINGER, linger(l_onoff: 1, l_linger: 0))
        close()
    }
}
