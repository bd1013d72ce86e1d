// A UDP socket with Go's `net.PacketConn` behaviour: each read is one whole datagram and
// tells who sent it; each write is one datagram to a named address.

public final class PacketConn: Sendable {
    public let socket: Socket
    public let network: String
    /// Where we are bound: with port 0 asked, the port the kernel chose.
    public let localAddress: Address

    /// Go's `net.ListenPacket(network, address)`, e.g. `PacketConn("udp", "127.0.0.1:0")`.
    public init(_ network: String, _ hostPort: String, nonblocking: Bool = false) throws(NetError) {
        let net = try Network(network, op: "listen")
        guard net.type.rawValue == SocketType.datagram.rawValue else {
            throw NetError(op: "listen", network: network, remote: nil, reason: .other("not a datagram network"))
        }
        let wanted = try net.listenAddress(hostPort)
        do {
            socket = try Socket(family: wanted.family, type: .datagram, nonblocking: nonblocking)
            try net.setDualStack(socket, for: wanted)
            try socket.bind(wanted)
            localAddress = try socket.localAddress() ?? wanted
        } catch {
            throw NetError(op: "listen", network: network, remote: wanted.description, error)
        }
        self.network = network
    }

    /// Waits for one datagram (until `deadline`, if given) and returns it with its sender.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func readFrom(maxLength: Int = 65_536, until deadline: Deadline? = nil) throws(NetError) -> (
        [UInt8], Address?
    ) {
        func fail(_ reason: NetError.Reason) -> NetError {
            NetError(op: "read", network: network, remote: localAddress.description, reason: reason)
        }
        let datagram: ([UInt8], Address?)?
        do { datagram = try receive(maxLength, until: deadline) } catch { throw fail(.system(error)) }
        guard let datagram else { throw fail(.timeout) }
        return datagram
    }

    /// With a deadline, sleeps in `poll` first, then reads without waiting; without one,
    /// `recvfrom` blocks (or, on a nonblocking socket, we poll on "would block").
    /// nil: the deadline passed.
    private func receive(_ maxLength: Int, until deadline: Deadline?) throws(SystemError) -> ([UInt8], Address?)? {
        while true {
            if let deadline, try !socket.wait(for: .readable, until: deadline) { return nil }
            let result = try socket.receiveFrom(maxLength: maxLength, dontWait: deadline != nil)
            if case .done(let datagram) = result { return datagram }
            if deadline == nil { _ = try socket.wait(for: .readable, until: nil) }
        }
    }

    /// Sends `bytes` as one datagram to `address`.
    public func writeTo(_ bytes: [UInt8], _ address: Address) throws(NetError) {
        do {
            while case .wouldBlock = try socket.sendTo(bytes, address) {
                _ = try socket.wait(for: .writable, until: nil)
            }
        } catch {
            throw NetError(op: "write", network: network, local: localAddress, remote: address.description, error)
        }
    }

    public func close() { socket.close() }
}
