// Real clients we did not write: curl and headless Chromium. Each is found where Debian
// installs it (`make test` installs both when it can); a test that needs one and cannot
// have it is skipped with a message saying so, never passed.
import Foundation
import Literate
import Testing

enum RealClients {
    static let curl = installed("/usr/bin/curl")
    static let chromium = installed("/usr/bin/chromium")

    private static func installed(_ path: String) -> URL? {
        FileManager.default.isExecutableFile(atPath: path) ? URL(fileURLWithPath: path) : nil
    }
}

/// Where tests leave what a person may want to look at afterwards (screenshots, the
/// rendered book): `test-output/` in the package, ignored by git.
enum TestOutput {
    static func directory(_ name: String) throws -> URL {
        let url = Paths.root.appendingPathComponent("test-output/\(name)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// `curl ARGUMENTS`, to the end.
func curl(_ arguments: [String], timeout: TimeInterval = 30) async throws -> LabRun {
    let curl = try #require(RealClients.curl, "curl is missing")
    return try await onThread { try LabRun(curl, ["--silent", "--show-error"] + arguments, timeout: timeout) }
}

/// Headless Chromium, one process per page: `--dump-dom` prints the page's DOM after it
/// loaded (scripts run, styles applied); `--screenshot` saves a PNG instead. A fresh
/// profile each time, so runs never share state; `--no-sandbox` because tests may run as
/// root, where Chromium's sandbox refuses to start.
func chromium(_ url: String, screenshot: URL? = nil, trustingSPKI pin: String? = nil) async throws -> LabRun {
    let chromium = try #require(RealClients.chromium, "chromium is missing")
    let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: profile) }
    var arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=\(profile.path)", "--window-size=1100,1400",
    ]
    if let pin { arguments.append("--ignore-certificate-errors-spki-list=\(pin)") }
    arguments.append(screenshot.map { "--screenshot=\($0.path)" } ?? "--dump-dom")
    arguments.append(url)
    return try await onThread { [arguments] in try LabRun(chromium, arguments, timeout: 90) }
}
