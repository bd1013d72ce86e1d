// Files served from one directory, and nothing outside it, whatever the request says.
// A request path is attacker's text: `/../../etc/passwd`, `/%2e%2e/%2e%2e/etc/passwd`,
// `/..%2fsecret`, or a symbolic link inside the root that points out of it. Three steps
// stop all of them: decode the percent-escapes first, refuse any `..` segment that is
// left, then resolve the real path (symbolic links and all) and check that it is still
// under the root's real path. Go's `http.Dir` does the first two; the third is ours.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public struct StaticRoot: Sendable {
    /// The root's real path: absolute, no symbolic links, no trailing slash.
    public let directory: String

    /// nil when `directory` does not exist or is not a directory.
    public init?(_ directory: String) {
        guard let real = realPath(directory), isDirectory(real) else { return nil }
        self.directory = real
    }

    // ANCHOR: resolve
    /// The file a request target names, or the error to answer with. A directory means its
    /// `index.html`. Anything that resolves outside the root is "not found", like a file
    /// that does not exist: the client learns nothing about what lies outside.
    public func file(for target: String) -> Result<String, RequestError> {
        let path = String(target.prefix { $0 != "?" && $0 != "#" })
        guard path.hasPrefix("/") else { return .failure(RequestError(.badRequest, "target is not a path")) }
        guard let decoded = percentDecoded(path), !decoded.contains(0) else {
            return .failure(RequestError(.badRequest, "bad percent-encoding in \(path)"))
        }
        // Decoded, `%2f` is a slash and `%2e%2e` is `..`: split and check only now.
        let segments = decoded.split(separator: UInt8(ascii: "/")).filter { $0 != [UInt8(ascii: ".")] }
        if segments.contains(where: { $0.elementsEqual("..".utf8) }) {
            return .failure(RequestError(.badRequest, "`..` in the path \(path)"))
        }
        let joined = Array(([Array(directory.utf8)] + segments.map(Array.init)).joined(separator: [UInt8(ascii: "/")]))
        let notFound = RequestError(.notFound, "\(path) is not a file under the root")
        guard var real = realPath(String(decoding: joined, as: UTF8.self)), isInsideRoot(real) else {
            return .failure(notFound)
        }
        if isDirectory(real) {
            guard let index = realPath(real + "/index.html"), isInsideRoot(index) else { return .failure(notFound) }
            real = index
        }
        return isRegularFile(real) ? .success(real) : .failure(notFound)
    }
    // ANCHOR_END: resolve

    /// The root itself, or anything below it: a prefix match on whole path segments, so
    /// `/srv/book-private` is not inside `/srv/book`.
    func isInsideRoot(_ real: String) -> Bool {
        real == directory || real.hasPrefix(directory == "/" ? "/" : directory + "/")
    }
}

/// `%41` → `A`. nil for a `%` not followed by two hex digits.
func percentDecoded(_ text: String) -> [UInt8]? {
    var bytes: [UInt8] = []
    var rest = text.utf8[...]
    while let byte = rest.popFirst() {
        guard byte == UInt8(ascii: "%") else {
            bytes.append(byte)
            continue
        }
        guard rest.count >= 2, let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) else {
            return nil
        }
        bytes.append(value)
        rest = rest.dropFirst(2)
    }
    return bytes
}

/// realpath(3): the absolute path with every symbolic link, `.` and `..` resolved. nil when
/// the path (or a link in it) does not exist.
func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

private func fileType(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & S_IFMT
}

func isDirectory(_ path: String) -> Bool { fileType(path) == S_IFDIR }
func isRegularFile(_ path: String) -> Bool { fileType(path) == S_IFREG }
