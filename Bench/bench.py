#!/usr/bin/env python3
"""make bench: the guide's servers, release builds, side by side with Go, iperf3 and openssl.

Every measurement runs --rounds times, interleaved (A B A B ...), so that a machine busy with
something else slows both sides of a ratio alike; each ratio is the median of the rounds'
ratios (A of a round over the B measured right after it), with the lowest and highest beside
it, so that the noise is on the page. One load generator (Bench/loadgen.c) drives every
server. Prints a report; with --out FILE also writes it there between ANCHOR markers, for
Chapters/A1-benchmarks.md to include. Usage:
    bench.py --bin DIR --loadgen FILE --go FILE [--seconds S] [--rounds N] [--out FILE]
"""
import argparse
import json
import os
import statistics
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

GREETING = "Hello World!\r\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process; its address from `listening on HOST:PORT` (or a port we chose)."""

    def __init__(self, command, port=None, ready_text=None):
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        if port is None:
            line = self.process.stdout.readline().decode()
            match = re.match(r"listening on (\S+):(\d+)", line)
            if not match:
                self.stop()
                raise SystemExit(f"bench: {command[0]} did not say where it listens: {line!r}")
            self.port = int(match.group(2))
        else:
            self.port = port
            wait_for_port(port)
        # Drain stdout (hello-server logs a line per connection) so the pipe never fills.
        self.drain = subprocess.Popen(["cat"], stdin=self.process.stdout, stdout=subprocess.DEVNULL)

    def cpu_seconds(self):
        """User plus system CPU time the server has used so far."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def peak_memory(self):
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if hasattr(self, "drain"):
            self.drain.wait()


def wait_for_port(port):
    limit = time.time() + 10
    while time.time() < limit:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"bench: nothing listening on port {port}")


def rate(loadgen, mode, port, seconds, threads):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([loadgen, mode, "127.0.0.1", str(port), str(seconds), str(threads)],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    match = re.search(r"connections/s (\d+) errors (\d+) connections (\d+)", out)
    if not match:
        raise SystemExit(f"bench: loadgen said {out!r}")
    rate.count = int(match.group(3))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rate.client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return int(match.group(1)), int(match.group(2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--go", required=True)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="4,16",
                        help="client threads for the connection rates, one measurement each (4: round trips "
                             "dominate; 16: enough in flight to keep a server busy)")
    parser.add_argument("--out")
    args = parser.parse_args()
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    work = tempfile.mkdtemp(prefix="bench-")
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    b, go = args.bin, args.go
    listen = ["--listen", "127.0.0.1:0"]
    servers = {
        "hello-server": [f"{b}/hello-server"] + listen,
        # hello-server and tls-server close gracefully (FIN, then the client's bytes until
        # its FIN: Connection.closeGracefully), so their Go programs linger too.
        "go, byte per write": [go, "hello", "-bytewise", "-linger"],
        "tls-server": [f"{b}/tls-server"] + listen + ["--cert", cert, "--key", key],
        "go tls, byte per write": [go, "tls", "-bytewise", "-linger", "-cert", cert, "-key", key],
        "event-loop": [f"{b}/event-loop"] + listen,
        "async-server": [f"{b}/async-server"] + listen,
        "go, one write, linger": [go, "hello", "-linger"],
    }
    # Each Swift server against the Go program that does the same work.
    pairs = [
        ("hello-server", "go, byte per write", "greet", 1.0),
        ("tls-server", "go tls, byte per write", "tls-greet", 1.0),
        ("event-loop", "go, one write, linger", "greet", 1.2),
        ("async-server", "go, one write, linger", "greet", 1.0),
    ]
    results, memory, cpu, busy, client = {}, {}, {}, {}, {}
    concurrencies = [int(n) for n in args.threads.split(",")]
    threads = concurrencies[0]

    def measure(name, mode, clients, pair):
        server = Server(servers[name])
        try:
            rate(args.loadgen, mode, server.port, 0.3, clients)  # warm up
            before = server.cpu_seconds()
            value, errors = rate(args.loadgen, mode, server.port, args.seconds, clients)
            used = server.cpu_seconds() - before
            memory[name] = max(memory.get(name, 0), server.peak_memory())
        finally:
            server.stop()
        results.setdefault((name, mode, clients, pair), []).append(value)
        # CPU per connection from the same run as the rate, never a mean of one run's rate and
        # another's CPU; and how many cores the server kept busy, which cannot exceed the cores.
        cpu.setdefault((name, mode, clients, pair), []).append(used / max(1, rate.count) * 1e6)
        busy.setdefault((name, mode, clients, pair), []).append(used / args.seconds)
        client.setdefault((clients, mode), []).append(rate.client_cpu / max(1, rate.count) * 1e6)
        if errors:
            say(f"  ({name}: {errors} connections failed)")

    cores = os.cpu_count()
    say(f"make bench: release builds; {cores} cores; {args.rounds} rounds, interleaved (A B, B A, ...);")
    say(f"{args.seconds:g} s per run; one load generator (Bench/loadgen.c); load average {load_average()} at the start")
    say("each ratio: the median of the rounds' ratios [lowest - highest]; rates and CPU: medians")
    say()
    for round in range(args.rounds):
        for clients in concurrencies:
            for swift, other, mode, _goal in pairs:
                # A B in even rounds, B A in odd ones: a machine getting busier or quieter
                # during the run favours neither side. (The same Go server is measured once
                # per pair it is in.)
                for name in (swift, other) if round % 2 == 0 else (other, swift):
                    measure(name, mode, clients, swift)
    verdicts = []
    for clients in concurrencies:
        say(f"connections per second (connect, greeting, close), {clients} client threads; "
            "server CPU per connection, cores it kept busy:")
        for swift, other, mode, goal in pairs:
            a, g = results[(swift, mode, clients, swift)], results[(other, mode, clients, swift)]
            ratio = ratios(a, g)
            say(f"  {swift:<13} {median(a):>6.0f} {median(cpu[(swift, mode, clients, swift)]):>4.0f} us "
                f"{median(busy[(swift, mode, clients, swift)]):.1f}   {other:<23} {median(g):>6.0f} "
                f"{median(cpu[(other, mode, clients, swift)]):>4.0f} us {median(busy[(other, mode, clients, swift)]):.1f}   "
                f"{shown(ratio)}")
            verdicts.append((f"{swift} vs {other}, {clients} clients", ratio, goal))
        # The load generator shares the cores: with C its CPU per connection and S a server's,
        # no server can pass cores / (C + S) connections per second, however small its S.
        say(f"  the load generator's own CPU per connection (greeting): {median(client[(clients, 'greet')]):.0f} us")
        say()

    # TLS handshakes per second: tls-server against openssl s_server.
    say(f"TLS handshakes per second (connect, handshake, close), {threads} client threads:")
    handshakes = {"tls-server": [], "openssl s_server": []}
    for _ in range(args.rounds):
        server = Server(servers["tls-server"])
        try:
            handshakes["tls-server"].append(rate(args.loadgen, "tls-handshake", server.port, args.seconds, threads)[0])
        finally:
            server.stop()
        port = free_port()
        # -www: answer a GET with a status page, ignore stdin; one connection at a time.
        server = Server(["openssl", "s_server", "-quiet", "-www", "-accept", f"127.0.0.1:{port}",
                         "-cert", cert, "-key", key, "-no_ticket"], port=port)
        try:
            handshakes["openssl s_server"].append(
                rate(args.loadgen, "tls-handshake", port, args.seconds, threads)[0])
        finally:
            server.stop()
    ours, theirs = handshakes["tls-server"], handshakes["openssl s_server"]
    say(f"  tls-server {median(ours):>8.0f}   openssl s_server {median(theirs):>8.0f}   {shown(ratios(ours, theirs))}")
    say()

    # Bulk throughput: the same buffer size on both ends of each tool.
    say("TCP bulk throughput, MiB/s (one connection, SIZE bytes per write and per read):")
    bulk = {}
    for _ in range(args.rounds):
        for size in (4096, 65536, 262144):
            bulk.setdefault(("swift", size), []).append(swift_bulk(b, size, args.seconds))
            bulk.setdefault(("iperf3", size), []).append(iperf3_bulk(size, args.seconds))
            bulk.setdefault(("go", size), []).append(go_bulk(go, size, args.seconds))
    for size in (4096, 65536, 262144):
        s, i, g = (bulk[(tool, size)] for tool in ("swift", "iperf3", "go"))
        ratio = ratios(s, i)
        say(f"  {size // 1024:>3} KiB: swift {median(s) / 1048576:>6.0f}   iperf3 {median(i) / 1048576:>6.0f}   "
            f"go {median(g) / 1048576:>6.0f}   swift/iperf3 {shown(ratio)}")
        verdicts.append((f"bulk {size // 1024} KiB vs iperf3", ratio, 0.95))
    say()
    say("peak resident memory (VmHWM) of each server under that load:")
    for name in servers:
        if name in memory:
            say(f"  {name:<23} {memory[name] / 1048576:>6.1f} MiB")
    say()
    say(f"goals (the median ratio; load average {load_average()} at the end):")
    for what, ratio, goal in verdicts:
        say(f"  {what:<50} {ratio[0]:.2f}x  {'met' if ratio[0] >= goal else 'NOT met'} (goal {goal:.2f}x)")
    shutil.rmtree(work, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as out:
            out.write("// ANCHOR: report\n" + "\n".join(lines) + "\n// ANCHOR_END: report\n")


def median(values):
    return statistics.median(values) if values else 0


def ratios(ours, theirs):
    """The median of the rounds' ratios, and the lowest and highest: (median, low, high)."""
    each = [a / b for a, b in zip(ours, theirs) if b]
    return (median(each), min(each, default=0), max(each, default=0))


def shown(ratio):
    return f"{ratio[0]:.2f}x [{ratio[1]:.2f}-{ratio[2]:.2f}]"


def load_average():
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def swift_bulk(b, size, seconds):
    server = Server([f"{b}/bulk", "--listen", "127.0.0.1:0", "--buffer", str(size)])
    try:
        out = subprocess.run([f"{b}/bulk", "--dial", f"127.0.0.1:{server.port}", "--buffer", str(size),
                              "--seconds", str(max(1, round(seconds)))], capture_output=True, text=True).stdout
    finally:
        server.stop()
    return int(re.search(r"bytes/s (\d+)", out).group(1))


def go_bulk(go, size, seconds):
    server = Server([go, "bulk-server", "-buffer", str(size)])
    try:
        out = subprocess.run([go, "bulk-client", "-dial", f"127.0.0.1:{server.port}", "-buffer", str(size),
                              "-seconds", str(seconds)], capture_output=True, text=True).stdout
    finally:
        server.stop()
    return int(re.search(r"bytes/s (\d+)", out).group(1))


def iperf3_bulk(size, seconds):
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port_quietly(port)
        out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-l", str(size),
                              "-t", str(seconds), "-J"], capture_output=True, text=True).stdout
    finally:
        server.wait(timeout=30)
    return int(json.loads(out)["end"]["sum_received"]["bits_per_second"] / 8)


def wait_for_port_quietly(port):
    # iperf3 -1 serves one test: probing its port with a connection would use that test up.
    limit = time.time() + 10
    while time.time() < limit:
        with open("/proc/net/tcp") as table:
            if any(f":{port:04X} " in line and line.split()[3] == "0A" for line in table):
                return
        time.sleep(0.05)


if __name__ == "__main__":
    main()
