// Two error types, layered the way Go layers them: a failed system call (Go's
// os.SyscallError) inside a failed network operation (Go's net.OpError).
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A system call that failed: its name and `errno`, e.g. `connect: connection refused`.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let call: String
    public let code: Int32

    public init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    public var description: String { "\(call): \(Self.message(for: code))" }

    /// `strerror` with a lower-case first letter: Go's spelling (`connection refused`).
    public static func message(for code: Int32) -> String {
        let text = Platform.message(for: code)
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}

/// A network operation that failed. It prints the way Go's `net.OpError` does:
/// `OP NET [LOCAL->]REMOTE: REASON`, e.g. `dial tcp 127.0.0.1:1: connect: connection refused`.
public struct NetError: Error, Sendable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case system(SystemError)
        /// A deadline passed: Go's `os.ErrDeadlineExceeded`, printed `i/o timeout`.
        case timeout
        /// Anything else, in words (`no suitable address found`).
        case other(String)
    }

    public let op: String
    public let network: String
    public let local: Address?
    public let remote: String?
    public let reason: Reason

    public init(op: String, network: String, local: Address? = nil, remote: String?, reason: Reason) {
        self.op = op
        self.network = network
        self.local = local
        self.remote = remote
        self.reason = reason
    }

    public init(op: String, network: String, local: Address? = nil, remote: String?, _ error: SystemError) {
        self.init(op: op, network: network, local: local, remote: remote, reason: .system(error))
    }

    public var isTimeout: Bool { reason == .timeout }

    /// The `errno` behind this error, if a system call failed.
    public var code: Int32? {
        if case .system(let error) = reason { return error.code }
        return nil
    }

    public var description: String {
        var text = "\(op) \(network)"
        switch (local, remote) {
        case let (local?, remote?): text += " \(local)->\(remote)"
        case let (nil, remote?): text += " \(remote)"
        case let (local?, nil): text += " \(local)"
        case (nil, nil): break
        }
        switch reason {
        case .system(let error): return text + ": \(error)"
        case .timeout: return text + ": i/o timeout"
        case .other(let words): return text + ": \(words)"
        }
    }
}
