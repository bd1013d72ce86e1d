// Every call and constant that differs between Linux and Darwin lives in this file.
// A macOS port is one more file, `Platform+Darwin.swift`, that defines the same names.
#if canImport(Glibc)
    import Glibc

    enum Platform {
        // Glibc imports these as enums or wider integers; convert them once, here.
        static let stream = Int32(SOCK_STREAM.rawValue)
        static let datagram = Int32(SOCK_DGRAM.rawValue)
        static let ipv4 = Int32(AF_INET)
        static let ipv6 = Int32(AF_INET6)
        static let unspecified = Int32(AF_UNSPEC)
        static let tcp = Int32(IPPROTO_TCP)
        static let ipv6Level = Int32(IPPROTO_IPV6)
        static let noDelay = Int32(TCP_NODELAY)
        static let ipv6Only = Int32(IPV6_V6ONLY)
        static let shutdownWrite = Int32(SHUT_WR)
        static let shutdownBoth = Int32(SHUT_RDWR)
        static let pollIn = Int16(POLLIN)
        static let pollOut = Int16(POLLOUT)
        /// `accept` failures that belong to one connection, not to the listener: the
        /// connection was aborted while it waited in the queue, or (accept(2) on Linux) a
        /// network error already pending on it. A server skips it and accepts the next.
        static let acceptErrorsToSkip: Set<Int32> = [
            ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH,
            EPERM,
        ]
        /// `accept` failures for lack of descriptors or memory: they last until something is
        /// freed, so a server waits a little before it tries again, rather than spinning.
        static let acceptErrorsToWaitOut: Set<Int32> = [EMFILE, ENFILE, ENOBUFS, ENOMEM]
        /// getaddrinfo's EAI_NODATA (the name exists, with no address): a GNU extension
        /// that Swift's Glibc module leaves out.
        static let noData: Int32 = -5

        /// The `errno` of the calling thread. Read it straight after the failing call.
        static var errno: Int32 { Glibc.errno }

        // ANCHOR: socket
        /// A new socket. Linux sets close-on-exec and nonblocking mode atomically in `socket(2)`,
        /// so no other thread can `fork`+`exec` in between and inherit the descriptor.
        static func socket(family: Int32, type: Int32, nonblocking: Bool) -> Int32 {
            var flags = type | Int32(SOCK_CLOEXEC.rawValue)
            if nonblocking { flags |= Int32(SOCK_NONBLOCK.rawValue) }
            return Glibc.socket(family, flags, 0)
        }
        // ANCHOR_END: socket

        // ANCHOR: accept4
        /// `accept4(2)` with `SOCK_CLOEXEC`: the new connection's descriptor is close-on-exec
        /// from birth, as `socket` makes ours. A plain `accept` followed by `fcntl` would leave a
        /// moment in which another thread's `fork`+`exec` inherits it.
        static func accept(
            _ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>,
            _ length: UnsafeMutablePointer<socklen_t>
        ) -> Int32 {
            accept4(fd, address, length, Int32(SOCK_CLOEXEC.rawValue))
        }

        /// glibc declares `accept4` only for `_GNU_SOURCE`, which Swift's Glibc module does not
        /// define, so we look the function up in the C library we are linked with (glibc has had
        /// it since 2.10; Linux since 2.6.28).
        private typealias Accept4 =
            @convention(c) (
                Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32
            ) -> Int32
        private static let accept4 = unsafeBitCast(dlsym(dlopen(nil, RTLD_NOW), "accept4"), to: Accept4.self)
        // ANCHOR_END: accept4

        /// `send` that never raises SIGPIPE: a peer that hung up gives `EPIPE` instead.
        /// `dontWait` makes this one call nonblocking even on a blocking socket.
        static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, dontWait: Bool) -> Int {
            let flags = Int32(MSG_NOSIGNAL) | (dontWait ? Int32(MSG_DONTWAIT) : 0)
            return Glibc.send(fd, bytes.baseAddress, bytes.count, flags)
        }

        static func sendTo(
            _ fd: Int32, _ bytes: UnsafeRawBufferPointer,
            _ address: UnsafePointer<sockaddr>, _ length: socklen_t
        ) -> Int {
            Glibc.sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), address, length)
        }

        static func receive(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, dontWait: Bool) -> Int {
            Glibc.recv(fd, buffer.baseAddress, buffer.count, dontWait ? Int32(MSG_DONTWAIT) : 0)
        }

        // The plain C calls whose names `Socket`'s methods reuse, so they must be spelled out.
        static func close(_ fd: Int32) { _ = Glibc.close(fd) }
        static func bind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
            Glibc.bind(fd, address, length)
        }
        static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
            Glibc.connect(fd, address, length)
        }
        static func listen(_ fd: Int32, _ backlog: Int32) -> Int32 { Glibc.listen(fd, backlog) }
        static func shutdown(_ fd: Int32, _ how: Int32) -> Int32 { Glibc.shutdown(fd, how) }
        static func receiveFrom(
            _ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, dontWait: Bool,
            _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>
        ) -> Int {
            Glibc.recvfrom(fd, buffer.baseAddress, buffer.count, dontWait ? Int32(MSG_DONTWAIT) : 0, address, length)
        }

        /// The text of an errno value, as `strerror` gives it.
        static func message(for code: Int32) -> String {
            String(cString: Glibc.strerror(code))
        }

        /// How many segments carrying data this socket has sent: the kernel's
        /// `tcpi_data_segs_out` (Linux 4.6 and later). Glibc's `struct tcp_info` stops before
        /// it, so we read the kernel's longer struct as bytes, at its offset in `linux/tcp.h`.
        static func dataSegmentsSent(_ fd: Int32) -> UInt32? {
            let offset = 156, size = 160
            var raw = [UInt8](repeating: 0, count: size)
            var length = socklen_t(size)
            guard getsockopt(fd, tcp, Int32(TCP_INFO), &raw, &length) == 0, Int(length) >= size else { return nil }
            return raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        }

        /// A socket address structure with the family set (Darwin also sets `sin_len` here).
        static func emptyIPv4() -> sockaddr_in {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            return address
        }

        static func emptyIPv6() -> sockaddr_in6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            return address
        }

        // ANCHOR: tcp-info
        /// The kernel's view of a TCP socket: `getsockopt(TCP_INFO)`. Its state is `tcpi_state`
        /// (Linux's numbering, see `TCPState(linux:)`). On a listening socket Linux reuses two
        /// fields for the accept queue: `tcpi_unacked` counts the connections waiting there,
        /// `tcpi_sacked` is the backlog. Returns getsockopt's result: -1 and errno on failure.
        static func tcpInfo(_ fd: Int32, _ result: inout TCPInfo) -> Int32 {
            var raw = [UInt8](repeating: 0, count: 256)  // room for the kernel's newer, longer struct
            var length = socklen_t(raw.count)
            let status = raw.withUnsafeMutableBytes { getsockopt(fd, tcp, Int32(TCP_INFO), $0.baseAddress, &length) }
            guard status == 0 else { return status }
            let info = raw.withUnsafeBytes { $0.loadUnaligned(as: tcp_info.self) }
            result = TCPInfo(
                state: TCPState(linux: Int(info.tcpi_state)),
                queued: Int(info.tcpi_unacked), backlog: Int(info.tcpi_sacked))
            // glibc's `struct tcp_info` stops where Linux 2.6 did. The kernel only ever appends
            // fields, so later ones sit at fixed offsets (linux/tcp.h): tcpi_bytes_acked at 120.
            if length >= 128 {
                result.bytesAcked = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 120, as: UInt64.self) }
            }
            return status
        }
        // ANCHOR_END: tcp-info
    }
    /// A detached POSIX thread, for the labs' `BackgroundThread`. Foundation's `Thread.start`
    /// drops `pthread_create`'s error, so under a thread or process limit (`EAGAIN`) the body
    /// would silently never run; here the caller learns of it and can act (close the
    /// connection the thread was for, say).
    public enum SystemThread {
        public static func start(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
            let context = Unmanaged.passRetained(Body(body)).toOpaque()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            defer { pthread_attr_destroy(&attributes) }
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            var thread = pthread_t()
            let status = pthread_create(
                &thread, &attributes,
                { context in
                    Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
                    return nil
                }, context)
            guard status == 0 else {
                Unmanaged<Body>.fromOpaque(context).release()
                throw SystemError(call: "pthread_create", code: status)
            }
        }

        private final class Body {
            let run: @Sendable () -> Void
            init(_ run: @escaping @Sendable () -> Void) { self.run = run }
        }
    }
#endif

// MARK: - Event queue (Linux): epoll, eventfd, the descriptor limit
// Part II's event loop (chapter 11) in the calls Linux gives it. Darwin's equivalent is
// kqueue: one `kevent` call both changes the watched set and waits, with a filter per
// direction (EVFILT_READ, EVFILT_WRITE), EV_CLEAR for edge-triggered, and EVFILT_USER
// where Linux needs an eventfd to be woken from another thread.
#if canImport(Glibc)
    import CLinux

    extension Platform {
        static let epollIn = UInt32(EPOLLIN.rawValue)
        static let epollOut = UInt32(EPOLLOUT.rawValue)
        static let epollError = UInt32(EPOLLERR.rawValue)
        static let epollHangUp = UInt32(EPOLLHUP.rawValue)
        static let epollReadHangUp = UInt32(EPOLLRDHUP.rawValue)
        static let epollEdgeTriggered = UInt32(EPOLLET.rawValue)

        static func epollCreate() -> Int32 { epoll_create1(Int32(EPOLL_CLOEXEC)) }

        enum EpollChange { case add, modify, remove }

        /// `epoll_ctl`: start, change or stop watching `fd` for `events`.
        static func epollControl(_ epoll: Int32, _ change: EpollChange, _ fd: Int32, _ events: UInt32) -> Int32 {
            var event = epoll_event()
            event.events = events
            event.data.fd = fd
            let op: Int32
            switch change {
            case .add: op = EPOLL_CTL_ADD
            case .modify: op = EPOLL_CTL_MOD
            case .remove: op = EPOLL_CTL_DEL
            }
            return epoll_ctl(epoll, op, fd, &event)
        }

        /// Room for the events one `epoll_wait` reports; allocated once per loop.
        final class EpollEvents {
            let buffer: UnsafeMutableBufferPointer<epoll_event>
            init(capacity: Int) { buffer = .allocate(capacity: capacity) }
            deinit { buffer.deallocate() }
            func descriptor(_ index: Int) -> Int32 { buffer[index].data.fd }
            func events(_ index: Int) -> UInt32 { buffer[index].events }
        }

        /// `epoll_wait`: sleeps until an event or `timeout` milliseconds (-1: no limit).
        static func epollWait(_ epoll: Int32, _ events: EpollEvents, _ timeout: Int32) -> Int32 {
            epoll_wait(epoll, events.buffer.baseAddress, Int32(events.buffer.count), timeout)
        }

        /// An eventfd: a counter in the kernel that polls readable while it is not zero.
        static func eventDescriptor() -> Int32 { eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK)) }

        /// Adds one to the counter (wakes an `epoll_wait` watching it). A full counter is
        /// still readable, so a failed write loses no wakeup.
        static func signalEvent(_ fd: Int32) {
            var one: UInt64 = 1
            _ = Glibc.write(fd, &one, MemoryLayout<UInt64>.size)
        }

        /// Reads the counter back to zero.
        static func drainEvent(_ fd: Int32) {
            var count: UInt64 = 0
            _ = Glibc.read(fd, &count, MemoryLayout<UInt64>.size)
        }

        /// `accept4`: the connection nonblocking and close-on-exec from the start, one call
        /// instead of three (`accept`, then `fcntl` twice). We do not ask who it is from.
        static func acceptNonblocking(_ fd: Int32) -> Int32 {
            accept4(fd, nil, nil, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }

        /// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns (before, after).
        static func raiseDescriptorLimit() -> (before: Int, after: Int)? {
            var limit = rlimit()
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
            guard getrlimit(resource, &limit) == 0 else { return nil }
            let before = Int(clamping: limit.rlim_cur)
            limit.rlim_cur = limit.rlim_max
            guard setrlimit(resource, &limit) == 0 else { return (before, before) }
            return (before, Int(clamping: limit.rlim_cur))
        }
    }
#endif
