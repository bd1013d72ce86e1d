// swift-tools-version: 6.0
// The guide's package: the shared socket module, the labs (one executable per chapter),
// the guide's own tooling, and the tests that run every lab on loopback.
// No package dependencies: the toolchain and the system's OpenSSL are all we use.
import PackageDescription

/// Lab N lives in `Labs/NN-name/` and builds an executable called `name`.
let labs = [
    "01-stream-and-datagram",
    "02-handshake",
    "03-blocking-read",
    "04-nonblocking-recvfrom",
    "05-lookup-host",
    "06-hello-server",
    "07-tls-server",
    "08-dial-timeout",
    "09-tls-client",
    "10-framing",
    "11-event-loop",
    "12-async-server",
    "13-https-server",
]

/// What a lab needs besides `Sockets` and `LabKit`.
let labExtras: [String: [Target.Dependency]] = [
    "05-lookup-host": ["DNS"],
    "07-tls-server": ["TLS", "TestPKI"],
    "09-tls-client": ["TLS", "TestPKI"],
    "11-event-loop": ["EventLoop"],
    "12-async-server": ["EventLoop", "AsyncSockets"],
    "13-https-server": ["TLS", "TestPKI", "HTTP"],
]

func labTarget(_ directory: String) -> Target {
    let name = String(directory.drop(while: { $0 != "-" }).dropFirst())
    let dependencies: [Target.Dependency] = ["Sockets", "LabKit"] + (labExtras[directory] ?? [])
    return .executableTarget(name: name, dependencies: dependencies, path: "Labs/\(directory)")
}

let package = Package(
    name: "SwiftNetGuide",
    products: labs.map { directory in
        let name = String(directory.drop(while: { $0 != "-" }).dropFirst())
        return .executable(name: name, targets: [name])
    } + [.executable(name: "bulk", targets: ["bulk"])],
    targets: [
        // The shared socket module: a thin, readable layer over the C socket API.
        .target(name: "Sockets", dependencies: [.target(name: "CLinux", condition: .when(platforms: [.linux]))]),
        // Linux headers Swift's Glibc module leaves out (epoll, eventfd), for Platform+Glibc.swift.
        .systemLibrary(name: "CLinux"),
        // What every lab executable shares: the command-line contract, narration, exit codes.
        .target(name: "LabKit", dependencies: ["Sockets"]),
        // DNS messages (RFC 1035) and a stub resolver that sends them: lab 5's own lookups.
        .target(name: "DNS", dependencies: ["Sockets"]),
        // Part II: one thread serving many connections over epoll (chapter 11), and Swift
        // concurrency on top of it, a task per connection (chapter 12).
        .target(name: "EventLoop", dependencies: ["Sockets"]),
        .target(name: "AsyncSockets", dependencies: ["EventLoop", "Sockets"]),
        // The system's OpenSSL (headers from Debian's libssl-dev), and TLS built on it.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(name: "TLS", dependencies: ["COpenSSL", "Sockets"]),
        // HTTP/1.1's message heads (RFC 9112), read with limits through chapter 10's
        // BufferedReader, and files served from a root
        // that no request path escapes: lab 13's server and client.
        .target(name: "HTTP", dependencies: ["Sockets"]),
        // A throwaway certificate authority made with the `openssl` command, for demos and tests.
        .target(name: "TestPKI"),
        // The literate mechanism: listings included from sources, transcripts checked against runs.
        .target(name: "Literate"),
        .executableTarget(name: "literate", dependencies: ["Literate"]),
        // Exercises and grading: checks with points run against the lab executables, the
        // student's copy of the project, reports (GRADING.md).
        .target(name: "Grading", dependencies: ["Sockets", "DNS", "LabKit", "Literate", "TestPKI"]),
        .executableTarget(name: "grade", dependencies: ["Grading"]),
        .testTarget(
            name: "GuideTests",
            dependencies: [
                "Sockets", "EventLoop", "AsyncSockets", "DNS", "LabKit", "Literate", "Grading", "TLS", "TestPKI",
                "HTTP",
            ]),
        // make bench's Swift side of the bulk-throughput comparison (Chapters/A1-benchmarks.md).
        .executableTarget(name: "bulk", dependencies: ["Sockets", "LabKit"], path: "Bench/bulk"),
    ] + labs.map(labTarget)
)
