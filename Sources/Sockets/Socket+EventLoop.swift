// What an event loop needs of a socket beyond Socket.swift's calls (chapters 11 and 12).

extension Socket {
    /// The next connection from the accept queue, already nonblocking (`accept4`), or
    /// `.wouldBlock` when the queue is empty.
    public func acceptNonblocking() throws(SystemError) -> IOResult<Socket> {
        let result = try using("accept") { fd throws(SystemError) in
            try systemCall("accept") { Platform.acceptNonblocking(fd) }
        }
        guard case .done(let fd) = result else { return .wouldBlock }
        return .done(Socket(adopting: fd))
    }
}
