// The literate contract: listings are the compiled sources, transcripts are real runs.
import Foundation
import Literate
import Testing

@Suite struct RegionTests {
    let source = """
        import X
            // ANCHOR: outer
            func f() {
                // ANCHOR: inner
                let a = 1
                // ANCHOR_END: inner
                // BEGIN SOLUTION: the task
                return a
                // END SOLUTION
            }
            // ANCHOR_END: outer
        """

    @Test func extractsStripsMarkersAndDedents() {
        #expect(Region.extract("outer", from: source) == "func f() {\n    let a = 1\n    return a\n}")
        #expect(Region.extract("inner", from: source) == "let a = 1")
        #expect(Region.extract("missing", from: source) == nil)
        #expect(Region.names(in: source) == ["outer", "inner"])
    }

    @Test func trailingBlankLinesAreDropped() {
        // gofmt puts a blank line between an import block and the comment after it.
        let go = "// ANCHOR: imports\nimport (\n\t\"fmt\"\n)\n\n// ANCHOR_END: imports\n"
        #expect(Region.extract("imports", from: go) == "import (\n\t\"fmt\"\n)")
    }
}

@Suite struct TranscriptMatchingTests {
    @Test func placeholdersMatchWhatVaries() {
        #expect(
            Transcript.mismatch(
                expected: ["listening on 127.0.0.1:{PORT}", "read #1: blocked {DURATION}"],
                actual: ["listening on 127.0.0.1:41234", "read #1: blocked 300.2ms"]) == nil)
        #expect(Transcript.mismatch(expected: ["from {ADDR}: one"], actual: ["from [::1]:5353: one"]) == nil)
        #expect(Transcript.mismatch(expected: ["a", "...", "z"], actual: ["a", "b", "c", "z"]) == nil)
        #expect(Transcript.mismatch(expected: ["a", "...", "z"], actual: ["a", "z"]) == nil)
        #expect(Transcript.mismatch(expected: ["cost: {ANY}"], actual: ["cost: (a+b)*2"]) == nil)
    }

    @Test func literalTextMustMatchExactly() {
        let drift = Transcript.mismatch(expected: ["a", "took {DURATION}", "c"], actual: ["a", "took 3 seconds", "c"])
        #expect(drift?.expectedLine == 1)
        #expect(drift?.got == "took 3 seconds")
        #expect(Transcript.mismatch(expected: ["a (b) [c]."], actual: ["a (b) [c]!"]) != nil)
        #expect(Transcript.mismatch(expected: ["a"], actual: ["a", "extra"]) != nil)
        #expect(Transcript.mismatch(expected: ["{N} reads"], actual: ["many reads"]) != nil)
    }
}

@Suite struct ChapterTests {
    // Every test that reads or copies the project does it on a thread of its own (`onThread`):
    // a test body holds one of Swift concurrency's few threads (as many as the cores), and
    // blocking file work there stalls every other test's continuation.
    @Test func everyListingMatchesItsSource() async throws {
        let problems = try await onThread { try Book(root: Paths.root).checkListings() }
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
    }

    @Test func everyTranscriptMatchesARealRun() async throws {
        let problems = try await onThread {
            try Book(root: Paths.root).checkTranscripts(binaries: Paths.binaries, timeout: labTimeout)
        }
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
    }

    /// Our transcriptions of the source's Go that does not compile: Go's compiler must refuse each
    /// with the messages its chapter shows (`make test` installs Debian's golang-go when it can).
    @Test(.enabled(if: Book.goCommand() != nil, "Go is not installed (apt-get install golang-go): not checked"))
    func everyGoBuildTranscriptMatchesTheCompiler() async throws {
        let go = try #require(Book.goCommand())
        let problems = try await onThread { try Book(root: Paths.root).checkGoBuilds(go: go) }
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
    }

    @Test(.enabled(if: Book.goCommand() != nil, "Go is not installed (apt-get install golang-go): not checked"))
    func aGoSnippetThatCompilesOrAMessageThatDriftedFails() async throws {
        let go = try #require(Book.goCommand())
        let (book, dir) = try await onThread { [self] in try scratchBook() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let chapter = try #require(
            try book.chapters().first { $0.blocks.contains { if case .goBuild = $0.kind { true } else { false } } })
        let block = try #require(chapter.blocks.first { if case .goBuild = $0.kind { true } else { false } })
        guard case let .goBuild(folder) = block.kind else { return }
        var lines = chapter.lines
        lines[block.line + 2] = "a message go never prints"
        try lines.joined(separator: "\n").write(
            to: dir.appendingPathComponent(chapter.path), atomically: true, encoding: .utf8)
        var problems = try await onThread { try book.checkGoBuilds(go: go) }
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("a message go never prints") == true, "\(problems)")
        // The source's mistake, corrected, compiles: the chapter's claim then fails.
        try "package main\n\nfunc main() {}\n".write(
            to: dir.appendingPathComponent(folder).appendingPathComponent("main.go"), atomically: true,
            encoding: .utf8)
        problems = try await onThread { try book.checkGoBuilds(go: go) }
        #expect(problems.contains { $0.message.contains("it compiled") }, "\(problems)")
    }

    @Test func everyGoSnippetIsShownByAChapter() async throws {
        let (snippets, shown) = try await onThread {
            let folder = Paths.root.appendingPathComponent("Chapters/go")
            let snippets = try FileManager.default.contentsOfDirectory(atPath: folder.path).map { "Chapters/go/\($0)" }
            let shown = try Book(root: Paths.root).chapters().flatMap(\.blocks).compactMap { block in
                if case let .goBuild(folder) = block.kind { folder } else { nil }
            }
            return (snippets, shown)
        }
        #expect(snippets.count >= 7)
        #expect(Set(snippets) == Set(shown), "snippets: \(snippets.sorted()); shown: \(shown.sorted())")
    }

    @Test func everyLabHasAChapterWithATranscriptOfItsDemo() async throws {
        let demos = try await onThread {
            try Book(root: Paths.root).chapters().flatMap(\.blocks).compactMap { block in
                if case let .transcript(executable, arguments) = block.kind, arguments.isEmpty {
                    executable
                } else {
                    nil
                }
            }
        }
        for lab in allLabs {
            #expect(demos.contains(lab), "no chapter shows a transcript of \(lab)")
        }
    }

    /// A copy of the project's chapters, labs and module sources (chapters list both) in a
    /// temporary directory, to edit by hand.
    func scratchBook() throws -> (Book, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("literate-\(UUID().uuidString)")
        for folder in ["Chapters", "Labs", "Sources"] {
            try FileManager.default.copyItem(
                at: Paths.root.appendingPathComponent(folder), to: dir.appendingPathComponent(folder))
        }
        return (Book(root: dir), dir)
    }

    @Test func aHandEditedListingFailsNamingChapterAndRegion() async throws {
        let (book, dir) = try await onThread { [self] in try scratchBook() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let chapter = try #require(
            try book.chapters().first { $0.blocks.contains { if case .listing = $0.kind { true } else { false } } })
        let block = try #require(chapter.blocks.first { if case .listing = $0.kind { true } else { false } })
        guard case let .listing(path, region) = block.kind else { return }
        var lines = chapter.lines
        lines[block.line + 1] += " // edited by hand"
        try lines.joined(separator: "\n").write(
            to: dir.appendingPathComponent(chapter.path), atomically: true, encoding: .utf8)
        let problems = try await onThread { try book.checkListings() }
        #expect(problems.count == 1)
        #expect(problems.first?.file == chapter.path)
        #expect(problems.first?.message.contains("\(path)#\(region)") == true, "\(problems)")
        // `make sync` puts the source back.
        let (synced, left) = try await onThread { (try book.sync(), try book.checkListings()) }
        #expect(synced == [chapter.path])
        #expect(left.isEmpty)
    }

    @Test func aMissingRegionFails() async throws {
        let (book, dir) = try await onThread { [self] in try scratchBook() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let chapter = try #require(try book.chapters().first)
        let text =
            chapter.lines.joined(separator: "\n")
            + "\n<!-- listing: Labs/01-stream-and-datagram/main.swift#no-such-region -->\n```swift\n```\n"
        try text.write(to: dir.appendingPathComponent(chapter.path), atomically: true, encoding: .utf8)
        let problems = try await onThread { try book.checkListings() }
        #expect(problems.contains { $0.file == chapter.path && $0.message.contains("`no-such-region`") }, "\(problems)")
    }

    @Test func aHandEditedTranscriptFailsNamingChapterAndLab() async throws {
        let (book, dir) = try await onThread { [self] in try scratchBook() }
        defer { try? FileManager.default.removeItem(at: dir) }
        let chapter = try #require(
            try book.chapters().first { $0.blocks.contains { if case .transcript = $0.kind { true } else { false } } })
        let block = try #require(chapter.blocks.first { if case .transcript = $0.kind { true } else { false } })
        var lines = chapter.lines
        lines[block.line + 2] = "a line the lab never prints"
        try lines.joined(separator: "\n").write(
            to: dir.appendingPathComponent(chapter.path), atomically: true, encoding: .utf8)
        let problems = try await onThread { try book.checkTranscripts(binaries: Paths.binaries, timeout: labTimeout) }
        #expect(problems.count == 1)
        #expect(problems.first?.file == chapter.path)
        #expect(problems.first?.message.contains("a line the lab never prints") == true, "\(problems)")
    }
}
