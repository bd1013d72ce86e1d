// Linux only: the kernel's numbering of TCP states, and its table of TCP connections in
// /proc/net/tcp and /proc/net/tcp6 (what `ss -tan` and `netstat -tan` read). The table
// lists connections that no socket refers to any more: once a connection moves to
// TIME_WAIT, the socket the program still holds says CLOSE, and only this table shows
// the TIME_WAIT. A Darwin port would read `sysctl net.inet.tcp.pcblist_n` instead.
#if os(Linux)
    import Glibc

    extension TCPState {
        /// Linux's numbering (`include/net/tcp_states.h`), the same in `TCP_INFO` and in
        /// `/proc/net/tcp`.
        init(linux number: Int) {
            self =
                switch number {
                case 1: .established
                case 2: .synSent
                case 3: .synReceived
                case 4: .finWait1
                case 5: .finWait2
                case 6: .timeWait
                case 7: .close
                case 8: .closeWait
                case 9: .lastAck
                case 10: .listen
                case 11: .closing
                case 12: .synReceived  // TCP_NEW_SYN_RECV: a half-open connection waiting for the last ACK
                default: .unknown(number)
                }
        }
    }

    /// The kernel's table of TCP sockets and connections.
    public enum TCPTable {
        public struct Entry: Sendable, Equatable, CustomStringConvertible {
            public let local: Address
            public let remote: Address
            public let state: TCPState
            /// The time left on the entry's timer, when one runs. For TIME_WAIT, how long
            /// until the kernel forgets the connection.
            public let timer: Duration?

            public init(local: Address, remote: Address, state: TCPState, timer: Duration?) {
                self.local = local
                self.remote = remote
                self.state = state
                self.timer = timer
            }

            public var description: String { "\(local) -> \(remote) \(state)" }
        }

        /// Every TCP entry of this network namespace: IPv4, then IPv6.
        public static func entries() throws(SystemError) -> [Entry] {
            try parse(contents(of: "/proc/net/tcp")) + parse(contents(of: "/proc/net/tcp6"))
        }

        /// The entry for the connection from `local` to `remote`: one while the kernel tracks
        /// it, none once it has forgotten it. The kernel prints its table a page at a time, so a
        /// read that spans changes to a busy table can list one connection twice: the first wins.
        public static func entries(from local: Address, to remote: Address) throws(SystemError) -> [Entry] {
            try entries().filter { same($0.local, local) && same($0.remote, remote) }.prefix(1).map { $0 }
        }

        /// Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`: a heading, then one line
        /// per entry. Lines it cannot read are left out.
        public static func parse(_ text: String) -> [Entry] {
            text.split(separator: "\n").dropFirst().compactMap(entry)
        }

        // ANCHOR: proc-line
        /// `   5: 0100007F:9C40 0100007F:1F90 06 00000000:00000000 03:00001770 ...`
        /// is entry 5, from 127.0.0.1:40000 to 127.0.0.1:8080, in state 6 (TIME_WAIT),
        /// with timer 3 (TIME_WAIT's) firing in 0x1770 clock ticks (60 s).
        static func entry(_ line: Substring) -> Entry? {
            let fields = line.split(separator: " ")
            guard fields.count > 5, let local = address(fields[1]), let remote = address(fields[2]),
                let state = Int(fields[3], radix: 16)
            else { return nil }
            let timer = fields[5].split(separator: ":")
            guard timer.count == 2, let kind = Int(timer[0], radix: 16), let when = UInt64(timer[1], radix: 16) else {
                return nil
            }
            // `when` is a signed count of clock ticks printed as unsigned: a timer already due is negative.
            let ticks = max(0, Int64(bitPattern: when))
            let left = kind == 0 ? nil : Duration.milliseconds(ticks * 1000 / clockTicksPerSecond)
            return Entry(local: local, remote: remote, state: TCPState(linux: state), timer: left)
        }

        /// `0100007F:1F90` is 127.0.0.1:8080. The kernel prints the address as 32-bit words
        /// in the machine's own byte order, so writing each word back to memory gives the
        /// address's bytes in network order; the port is a plain hex number.
        static func address(_ field: Substring) -> Address? {
            let parts = field.split(separator: ":")
            guard parts.count == 2, parts[0].count == 8 || parts[0].count == 32,
                let port = UInt16(parts[1], radix: 16)
            else { return nil }
            var bytes: [UInt8] = []
            var hex = parts[0]
            while !hex.isEmpty {
                guard let word = UInt32(hex.prefix(8), radix: 16) else { return nil }
                bytes += withUnsafeBytes(of: word) { Array($0) }
                hex = hex.dropFirst(8)
            }
            return IP(bytes: bytes).map { Address(ip: $0, port: port) }
        }
        // ANCHOR_END: proc-line

        /// The same endpoint, whether its IPv4 address is written plain or IPv4-mapped
        /// (`::ffff:127.0.0.1`, as a dual-stack socket's connections appear in `tcp6`).
        static func same(_ a: Address, _ b: Address) -> Bool {
            func plain(_ ip: IP) -> [UInt8] { ip.isIPv4Mapped ? Array(ip.bytes[12...]) : ip.bytes }
            return a.port == b.port && plain(a.ip) == plain(b.ip)
        }

        static let clockTicksPerSecond = Int64(max(1, sysconf(Int32(_SC_CLK_TCK))))

        /// A whole /proc file as text. A missing file (no IPv6 in this kernel) reads as empty.
        static func contents(of path: String) throws(SystemError) -> String {
            let fd: Int32
            do {
                fd = try systemCall(blocking: "open") { Glibc.open(path, O_RDONLY | O_CLOEXEC) }
            } catch  where error.code == ENOENT {
                return ""
            }
            defer { Platform.close(fd) }
            var text: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = try buffer.withUnsafeMutableBytes { bytes in
                    Result { () throws(SystemError) in
                        try systemCall(blocking: "read") { Glibc.read(fd, bytes.baseAddress, bytes.count) }
                    }
                }.get()
                if count == 0 { return String(decoding: text, as: UTF8.self) }
                text += buffer[..<count]
            }
        }
    }
#endif
