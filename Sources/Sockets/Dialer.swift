// Connecting with a time limit, the way Go's net.Dialer does: resolve the name, then try
// each address in turn, sharing the time left between them. Each attempt is a
// nonblocking connect: EINPROGRESS, then poll(POLLOUT) until the deadline, then
// SO_ERROR for how it ended.

public struct Dialer: Sendable {
    /// The whole dial, resolution and every attempt, must finish in this time.
    /// nil or zero: no limit (Go's zero value). Negative: already expired.
    public var timeout: Duration?

    public init(timeout: Duration? = nil) { self.timeout = timeout }

    /// Go's `Dialer.Dial(network, address)`: `Dialer(timeout: .seconds(5)).dial("tcp", "localhost:8080")`.
    @available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
    public func dial(_ network: String, _ hostPort: String) throws(NetError) -> Connection {
        let deadline = self.deadline()  // the clock starts before resolving: it counts too
        let net = try Network(network, op: "dial")
        let addresses = try net.addresses(hostPort, op: "dial", listening: false)
        return try Dialer.dialSerial(net, addresses, until: deadline)
    }

    /// The same, for addresses already resolved: each in turn, in this order, sharing the
    /// timeout. Addresses of the wrong family for `network` (`tcp4`, `tcp6`) are left out.
    public func dial(_ network: String, addresses: [Address]) throws(NetError) -> Connection {
        let deadline = self.deadline()
        let net = try Network(network, op: "dial")
        guard !addresses.isEmpty else {
            throw NetError(op: "dial", network: network, remote: nil, reason: .other("missing address"))
        }
        let usable = addresses.filter { net.family == nil || $0.family == net.family }
        guard !usable.isEmpty else {
            throw NetError(op: "dial", network: network, remote: nil, reason: .other("no suitable address found"))
        }
        return try Dialer.dialSerial(net, usable, until: deadline)
    }

    /// When the whole dial must be over. nil: never (no timeout, or zero).
    private func deadline() -> Deadline? {
        timeout.flatMap { $0 == .zero ? nil : Deadline.after($0) }
    }

    // ANCHOR: dial-serial
    /// Go's `dialSerial`: try each address in turn until one connects. Each attempt gets a
    /// share of the time left; the first failure is the one reported.
    static func dialSerial(_ net: Network, _ addresses: [Address], until deadline: Deadline?) throws(NetError)
        -> Connection
    {
        var firstError: NetError?
        for (index, address) in addresses.enumerated() {
            var attemptDeadline: Deadline?
            if let deadline {
                attemptDeadline = Dialer.partialDeadline(deadline, addressesLeft: addresses.count - index)
                if attemptDeadline == nil { break }  // out of time before this address's turn
            }
            do {
                return try Dialer.connect(net, to: address, until: attemptDeadline)
            } catch {
                firstError = firstError ?? error  // Go reports the first failure, not the last
            }
        }
        throw firstError ?? NetError(op: "dial", network: net.name, remote: addresses[0].description, reason: .timeout)
    }

    /// Go's `partialDeadline`: give each remaining address an equal share of the time left,
    /// but at least 2 s when that much is left. nil: the overall deadline has passed.
    static func partialDeadline(_ deadline: Deadline, addressesLeft: Int) -> Deadline? {
        let left = deadline.remaining
        guard left > .zero else { return nil }
        let share = left / addressesLeft
        let saneMinimum = Duration.seconds(2)
        return .after(share >= saneMinimum ? share : min(left, saneMinimum))
    }
    // ANCHOR_END: dial-serial

    /// One attempt: a nonblocking connect bounded by `deadline`.
    static func connect(_ network: Network, to address: Address, until deadline: Deadline?) throws(NetError)
        -> Connection
    {
        func fail(_ reason: NetError.Reason) -> NetError {
            NetError(op: "dial", network: network.name, remote: address.description, reason: reason)
        }
        let socket: Socket?
        do { socket = try attempt(network, address, deadline) } catch { throw fail(.system(error)) }
        guard let socket else { throw fail(.timeout) }
        return Connection(socket: socket, network: network.name)
    }

    // ANCHOR: attempt
    /// The system calls of one attempt. nil: the deadline passed first (the socket, dropped
    /// here, closes itself and the kernel abandons the handshake).
    private static func attempt(_ network: Network, _ address: Address, _ deadline: Deadline?) throws(SystemError)
        -> Socket?
    {
        let socket = try Socket(family: address.family, type: network.type, nonblocking: true)
        if try !socket.connect(address) {
            // The handshake is under way. Writable means it finished, one way or the other.
            guard try socket.wait(for: .writable, until: deadline) else { return nil }
            let code = try socket.pendingError()
            if code != 0 { throw SystemError(call: "connect", code: code) }
        }
        try socket.setNonblocking(false)  // a plain blocking socket from here on, as lab 3 expects
        return socket
    }
    // ANCHOR_END: attempt
}

/// Go's `net.Dial` / `net.DialTimeout`.
@available(*, noasync, message: "it blocks the calling thread: call it from a Thread, not from a task")
public func dial(_ network: String, _ hostPort: String, timeout: Duration? = nil) throws(NetError) -> Connection {
    try Dialer(timeout: timeout).dial(network, hostPort)
}
