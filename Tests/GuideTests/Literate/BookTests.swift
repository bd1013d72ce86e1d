// `make book`: every chapter rendered by cmark-gfm, with no literate marker or raw
// Markdown left on a page, listings highlighted, diagrams drawn and links rewritten; then
// headless Chromium renders every page, and its DOM is checked the same way.
import Foundation
import Literate
import Testing

enum RenderedBook {
    static let programs = ["/usr/bin/cmark-gfm", "/usr/bin/highlight"]
    static var available: Bool { programs.allSatisfy { FileManager.default.isExecutableFile(atPath: $0) } }

    /// The book, rendered once per test run into test-output/book, on a thread of its own:
    /// it waits on a few hundred runs of cmark-gfm and highlight.
    static func rendered() async throws -> (URL, [HTMLBook.Page]) { try await onThread { try pages.get() } }
    private static let pages = Result { () throws -> (URL, [HTMLBook.Page]) in
        let directory = try TestOutput.directory("book")
        return (directory, try HTMLBook(Book(root: Paths.root)).render(into: directory))
    }

    /// Each chapter's page name, known before rendering (for parameterised tests).
    static let files: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: Paths.root.path + "/Chapters")) ?? []
        let chapters = names.filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
        return ["index.html"] + chapters.map { String($0.dropLast(3)) + ".html" }
    }()

    /// Text a page must never show: Markdown that cmark-gfm did not turn into HTML, and markers.
    static func leftovers(in html: String) -> [String] {
        // `](` and `## ` may appear inside listings (`[UInt8](repeating:`): look outside code only.
        let prose = html.replacing(#/<pre[\s\S]*?</pre>/#, with: "")
        return ["```", "<!-- listing", "<!-- transcript", "&lt;!-- listing", "&lt;!-- transcript", "raw HTML omitted"]
            .filter { html.contains($0) }
            + [">## ", ">### ", "\n## ", "\n# ", "](", ".md\""].filter { prose.contains($0) }
    }
}

@Suite struct BookRendering {
    @Test func everyChapterBecomesAPageWithoutMarkersOrRawMarkdown() async throws {
        guard RenderedBook.available else {
            print("skipped: cmark-gfm or highlight is missing (make book installs them)")
            return
        }
        // The check itself catches what it looks for.
        #expect(RenderedBook.leftovers(in: "<p>## Title</p><p>see [x](02-a.md\")</p>").count == 3)
        #expect(RenderedBook.leftovers(in: "<pre><code>a ## b [UInt8](x)</code></pre>").isEmpty)
        let (directory, pages) = try await RenderedBook.rendered()
        #expect(pages.map(\.file) == RenderedBook.files, "a contents page, then one page per chapter")
        var swiftListings = 0
        for page in pages {
            let html = try String(contentsOf: directory.appendingPathComponent(page.file), encoding: .utf8)
            #expect(RenderedBook.leftovers(in: html).isEmpty, "\(page.file): \(RenderedBook.leftovers(in: html))")
            #expect(html.contains("<h1>"), "\(page.file) has its title")
            #expect(!html.contains(".md\""), "\(page.file) links to a .md file")
            if page.file != "index.html" {
                // Every Swift listing is highlighted (an appendix may show only a run's text).
                let blocks = html.components(separatedBy: "<pre class=\"code swift\"><code>").dropFirst()
                    .map { $0.components(separatedBy: "</code></pre>")[0] }
                let swift = blocks.count
                let highlighted = blocks.filter { $0.contains("<span class=\"hl ") }.count
                #expect(swift == highlighted, "\(page.file): \(swift - highlighted) Swift listings not highlighted")
                swiftListings += swift
                #expect(html.contains("<figcaption>Listing: <code>"), "\(page.file): listings say where they come from")
            }
        }
        #expect(swiftListings >= pages.count, "the chapters' Swift listings became code blocks")
        let contents = try String(contentsOf: directory.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(contents.contains("href=\"07-tls-server.html\""), "the contents link to the pages")
        let handshake = try String(
            contentsOf: directory.appendingPathComponent("02-handshake-and-close.html"), encoding: .utf8)
        #expect(handshake.components(separatedBy: "<svg class=\"sequence\"").count == 3, "both diagrams drawn")
        #expect(handshake.contains(">SYN-ACK, seq=y, ack=x+1</text>"))
        #expect(!handshake.contains("sequenceDiagram"))
        let css = try String(contentsOf: directory.appendingPathComponent("book.css"), encoding: .utf8)
        #expect(css.contains(".hl.kwa"), "highlight's colours are in the stylesheet")
    }
}

/// One Chromium at a time: each takes one to three seconds and a few hundred megabytes.
@Suite(.serialized) struct BookInChromium {
    @Test(arguments: RenderedBook.files)
    func chromiumRendersThePage(file: String) async throws {
        guard RenderedBook.available, RealClients.chromium != nil else {
            print("skipped: chromium, cmark-gfm or highlight is missing (make test installs them)")
            return
        }
        let (directory, _) = try await RenderedBook.rendered()
        let url = directory.appendingPathComponent(file).absoluteString
        let dom = try await chromium(url)
        #expect(dom.status == 0, "\(dom.stderr.suffix(300))")
        let html = dom.stdout
        #expect(html.contains("<h1>"), "\(file): no heading in the DOM")
        #expect(html.contains("<nav class=\"pages\">"), "\(file): no navigation")
        #expect(RenderedBook.leftovers(in: html).isEmpty, "\(file): \(RenderedBook.leftovers(in: html))")
        if file != "index.html" {
            #expect(html.contains("<pre class=\"code "), "\(file): no code blocks in the DOM")
        } else {
            #expect(html.contains("<table>"), "the contents table")
        }
        if file == "index.html" || file.hasPrefix("02-") {
            let shot = try TestOutput.directory("book-screenshots").appendingPathComponent(file + ".png")
            try? FileManager.default.removeItem(at: shot)
            let picture = try await chromium(url, screenshot: shot)
            #expect(
                picture.status == 0 && FileManager.default.fileExists(atPath: shot.path),
                "\(picture.stderr.suffix(300))")
        }
    }
}
