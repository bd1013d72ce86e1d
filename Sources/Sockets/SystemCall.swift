// One helper runs every system call in this module, so the rules live in one place:
// retry EINTR, report "would block" as a value, capture errno at once.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// ANCHOR: system-call
/// What a call on a nonblocking descriptor gives back. "Would block" is not a failure:
/// it is the kernel saying "nothing to do yet", so it is a value, not an error.
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

extension IOResult: Sendable where Value: Sendable {}

/// Runs `body` (a system call returning -1 on failure) until it is not interrupted.
/// `EAGAIN`/`EWOULDBLOCK` come back as `.wouldBlock`; any other failure throws a
/// `SystemError` naming the call. `EBADF` and `EFAULT` are bugs in this program (a
/// descriptor used after close, a bad pointer), never bad input, so they stop it loudly.
func systemCall<Result: BinaryInteger>(
    _ call: String, _ body: () -> Result
) throws(SystemError) -> IOResult<Result> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = Platform.errno  // before anything else can overwrite it
        switch code {
        case EINTR:
            continue
        case EAGAIN, EWOULDBLOCK:
            return .wouldBlock
        case EBADF, EFAULT:
            fatalError("\(call): \(SystemError.message(for: code)) (a bug in this program)")
        default:
            throw SystemError(call: call, code: code)
        }
    }
}
// ANCHOR_END: system-call

/// For calls that cannot block (`bind`, `listen`, `setsockopt`…): "would block" is impossible.
@discardableResult
func systemCall<Result: BinaryInteger>(
    blocking call: String, _ body: () -> Result
) throws(SystemError) -> Result {
    switch try systemCall(call, body) {
    case .done(let value): return value
    case .wouldBlock: throw SystemError(call: call, code: EAGAIN)
    }
}
