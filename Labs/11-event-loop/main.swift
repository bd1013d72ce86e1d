// Lab 11: one thread, epoll, thousands of connections. The server of lab 6, rebuilt as an
// event loop: every socket nonblocking, one thread asleep in epoll_wait until some of them
// are ready, partial writes kept and finished when the socket says EPOLLOUT, timers for
// deadlines. The demo holds thousands of connections on that one thread, then as many
// with lab 6's design (a thread per connection), and prints what each costs.
import EventLoop
import Foundation
import LabKit
import Sockets

let lab = Lab(
    name: "event-loop",
    usage: """
        event-loop: one thread and epoll serving many connections, beside a thread per connection.

        usage:
          event-loop                                    run the demo on loopback (what `make lab-11` does)
          event-loop --listen ADDR [--count N] [--echo] listen on ADDR (host:port, IPv6 as [::1]:port; port 0:
                                                        the kernel picks), print `listening on HOST:PORT`, then
                                                        send every client "Hello World!\\r\\n" and close; with
                                                        --echo, send back every byte received until the client
                                                        closes. One event loop per core (at most four), each
                                                        on its own thread. Stop once N connections are done
                                                        (or on Ctrl-C). The descriptor limit is raised to
                                                        its hard limit first (RLIMIT_NOFILE)
          event-loop --help                             this text
        """)

lab.run { arguments in
    let address = try arguments.address("--listen")
    let count = try arguments.count("--count")
    let echo = arguments.flag("--echo")
    try arguments.finish()
    guard let address else {
        if count != nil || echo { throw UsageError("--count and --echo go with --listen") }
        return try demo()
    }
    _ = DescriptorLimit.raiseToHardLimit()
    let listener = try Listener("tcp", address)
    // ANCHOR: group
    // One loop per core (at most four), each on its own thread with its own epoll; the
    // first loop accepts, and hands each connection to the loops in turn.
    let group = try EventLoopGroup()
    let counts = ServerCounts()
    let servers = group.loops.map {
        Server(listener, loop: $0, echo: echo, limit: count, counts: counts, loops: group.loops)
    }
    servers[0].peers = servers
    group.loops[0].execute {
        do { try servers[0].start() } catch {
            warn("\(error)")
            group.stop()
        }
    }
    say("listening on \(listener.address)")
    group.startAllButFirst()
    try group.loops[0].run()  // this thread is the first loop, until --count connections are done
    // ANCHOR_END: group
}
