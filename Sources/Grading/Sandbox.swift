// The sandbox a submission's code runs in, built with bubblewrap (`bwrap`, Debian's
// `bubblewrap`) and util-linux's `setpriv`. Three kinds, all from this file:
//   the build:   `swift build` of the student's labs (SwiftPM runs Package.swift): user `nobody`,
//                no network, the sources read-only, write access to the build folder only;
//   the checks:  the grader's own checks, on a network of their own (loopback only), as root;
//   a lab:       each process of the student's lab: user `nobody`, its own PID, mount, IPC and
//                UTS namespaces, the checks' network (their peers must reach it), a read-only
//                view of the system and of its own executable, a private /tmp, nothing else.
// GRADING.md § The sandbox says why this cannot be fooled, and what it does not protect.
import Foundation

public enum Sandbox {
    /// The unprivileged user and group every process of a submission runs as (`nobody`).
    public static let user: UInt32 = 65534

    /// `bwrap` and `setpriv` on PATH, or nil.
    static let bwrap = onPath("bwrap")
    static let setpriv = onPath("setpriv")

    /// Why a sandbox cannot be made here, or nil when it can. Tried, not guessed: a real
    /// (tiny) sandbox of each kind is started.
    public static func unavailable() -> String? {
        guard bwrap != nil else { return "bubblewrap (bwrap) is not installed (apt-get install bubblewrap)" }
        guard setpriv != nil else { return "setpriv (util-linux) is not installed" }
        guard getuid() == 0 else {
            return "the grader must run as root to run submissions as another user (nobody)"
        }
        for (kind, words) in [
            ("the checks' network", checksCommand(["/bin/true"], temporary: nil)),
            ("a lab's sandbox", labCommand(URL(fileURLWithPath: "/bin/true"), [], shared: [])),
        ] {
            guard
                let probe = try? LabProcess(
                    URL(fileURLWithPath: words[0]), Array(words.dropFirst()), limit: .seconds(20))
            else { return "could not start bwrap" }
            let finished = probe.finish(until: .now + .seconds(20))
            if finished.status != 0 {
                let why = finished.stderr.split(separator: "\n").last.map(String.init) ?? "exit \(finished.status)"
                return "bwrap could not make \(kind): \(why)"
            }
        }
        return nil
    }

    /// `swift build …` as `nobody`, without a network: the course's sources (`course`) at
    /// /project, read-only, the submission's labs (`labs`) over its Labs/, read-only, and
    /// `build` (writable) as its build folder. The same paths for every submission, so the
    /// build folder copied from the course's first build stays valid and only labs rebuild.
    public static func buildCommand(course: URL, labs: URL?, build: URL, _ command: [String]) -> [String] {
        var words = asNobody() + ["--unshare-all"] + common() + ["--ro-bind", course.path, "/project"]
        if let labs { words += ["--ro-bind", labs.path, "/project/Labs"] }
        words += ["--bind", build.path, "/project/.build", "--chdir", "/project"]
        words += environment(path: toolchainPath() + ":/usr/bin:/bin")
        return words + ["--"] + command
    }

    /// The checks' own network namespace, loopback only (bwrap brings `lo` up), for the
    /// grader's check runner: it keeps root and the whole filesystem (it is the grader),
    /// but nothing a lab does on the network reaches past it, and two submissions graded at
    /// once never meet. `temporary` becomes its TMPDIR.
    public static func checksCommand(_ command: [String], temporary: URL?) -> [String] {
        var words = [
            bwrap ?? "bwrap", "--dev-bind", "/", "/", "--unshare-net", "--die-with-parent", "--cap-add", "ALL",
        ]
        if let temporary { words += ["--setenv", "TMPDIR", temporary.path] }
        return words + ["--"] + command
    }

    /// One process of a lab: `executable` bound read-only at /lab/NAME, `shared` folders (the
    /// checks' certificates) read-only at their own paths, on the network of whoever starts
    /// it. When it exits, its PID namespace ends and takes every process it started with it
    /// (a `setsid` helper too); `--die-with-parent` ends it if the grader goes first.
    public static func labCommand(_ executable: URL, _ arguments: [String], shared: [URL]) -> [String] {
        let inside = "/lab/" + executable.lastPathComponent
        var words =
            asNobody() + ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
            + common() + ["--ro-bind", executable.path, inside]
        for folder in shared { words += ["--ro-bind", folder.path, folder.path] }
        words += ["--chdir", "/tmp"] + environment(path: "/usr/bin:/bin")
        return words + ["--", inside] + arguments
    }

    /// Makes what a lab may read (`shared`: the checks' certificates, made in private
    /// folders by `mkdtemp`) readable by the lab's user. They are throwaway test files, and
    /// no other submission's lab ever has them in its mount namespace.
    static func openToLabs(_ shared: [URL]) {
        let manager = FileManager.default
        for folder in shared {
            let enumerator = manager.enumerator(atPath: folder.path)
            while let path = enumerator?.nextObject() as? String {
                let isFolder = (enumerator?.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory
                try? manager.setAttributes(
                    [.posixPermissions: isFolder ? 0o755 : 0o644],
                    ofItemAtPath: folder.appendingPathComponent(path).path)
            }
        }
    }

    // MARK: The parts

    /// `setpriv … bwrap`: the sandbox is made by `nobody`, so nothing in it is root anywhere.
    private static func asNobody() -> [String] {
        [
            setpriv ?? "setpriv", "--reuid", "\(user)", "--regid", "\(user)", "--clear-groups",
            bwrap ?? "bwrap",
        ]
    }

    /// Read-only system folders (programs, libraries, /etc, the toolchain), a fresh /proc and
    /// /dev, a private /tmp, a new session (no terminal to type into), gone with its parent.
    private static func common() -> [String] {
        var words = ["--die-with-parent", "--new-session"]
        for top in ["usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let path = "/" + top
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                words += ["--symlink", target, path]
            } else if FileManager.default.fileExists(atPath: path) {
                words += ["--ro-bind", path, path]
            }
        }
        let toolchain = toolchainRoot()
        if !toolchain.hasPrefix("/usr/") { words += ["--ro-bind", toolchain, toolchain] }
        return words + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    }

    private static func environment(path: String) -> [String] {
        [
            "--clearenv", "--setenv", "PATH", path, "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
            "--setenv", "LANG", "C.UTF-8",
        ]
    }

    /// The folder holding the toolchain's `usr/` (`/opt/swift`), found from `swift` on PATH.
    static func toolchainRoot() -> String {
        guard let swift = onPath(ProcessInfo.processInfo.environment["SWIFT"] ?? "swift") else { return "/usr" }
        let real = URL(fileURLWithPath: swift).resolvingSymlinksInPath()
        return real.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    private static func toolchainPath() -> String { toolchainRoot() + "/usr/bin" }

    static func onPath(_ name: String) -> String? {
        if name.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
