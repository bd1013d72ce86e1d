// The chapters as a static HTML book (`make book`): a contents page made from
// Chapters/README.md, a page per chapter, listings highlighted and captioned with the
// region they come from, sequence diagrams drawn, and links between chapters pointing at
// the pages. cmark-gfm does the Markdown; this file only prepares its input (the literate
// markers become code-block metadata, never visible text) and dresses its output.
import Foundation

public struct HTMLBook: Sendable {
    public struct Page: Sendable {
        /// The page's file in the book: `index.html`, `07-tls-server.html`.
        public let file: String
        public let title: String
        /// The chapter it was made from: `Chapters/07-tls-server.md`.
        public let source: String
    }

    public let book: Book

    public init(_ book: Book) { self.book = book }

    /// Writes every page, and the stylesheet, into `directory` (made if missing).
    @discardableResult
    public func render(into directory: URL) throws -> [Page] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let chapters = try book.chapters()
        let contents = chapters.filter { $0.path.hasSuffix("/README.md") }
        let numbered = chapters.filter { !$0.path.hasSuffix("/README.md") }
        let pages = (contents + numbered).map { chapter in
            Page(file: pageFile(for: chapter.path), title: title(of: chapter), source: chapter.path)
        }
        for (index, chapter) in (contents + numbered).enumerated() {
            let body = try body(of: chapter)
            let html = page(
                pages[index], body: body, previous: index > 0 ? pages[index - 1] : nil,
                next: index + 1 < pages.count ? pages[index + 1] : nil, contents: pages[0])
            try html.write(to: directory.appendingPathComponent(pages[index].file), atomically: true, encoding: .utf8)
        }
        try (Self.stylesheet + highlightStyle()).write(
            to: directory.appendingPathComponent("book.css"), atomically: true, encoding: .utf8)
        return pages
    }

    /// `Chapters/07-tls-server.md` → `07-tls-server.html`; the contents become `index.html`.
    func pageFile(for path: String) -> String {
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return name == "README" ? "index.html" : name + ".html"
    }

    func title(of chapter: Chapter) -> String {
        chapter.lines.first { $0.hasPrefix("# ") }.map { String($0.dropFirst(2)) } ?? chapter.path
    }

    // MARK: One chapter

    /// The chapter's HTML: its marked blocks carry their marker as metadata on the fence
    /// (`swift listing=Labs/…#config`), which cmark-gfm keeps as `data-meta`.
    func body(of chapter: Chapter) throws -> String {
        var lines = chapter.lines
        for block in chapter.blocks {
            lines[block.line - 1] = ""
            switch block.kind {
            case .listing(let path, let region): lines[block.open] += " listing=\(path)#\(region)"
            case .transcript(let executable, _): lines[block.open] += " transcript=\(executable)"
            case .goBuild(let folder): lines[block.open] += " go-build=\(folder)"
            }
        }
        let html = try ExternalTool.run(
            "cmark-gfm",
            ["--full-info-string"]
                + ["table", "autolink", "strikethrough", "tagfilter"].flatMap { ["--extension", $0] },
            input: lines.joined(separator: "\n"))
        return try linksRewritten(codeBlocksDressed(html))
    }

    /// Each `<pre><code>` cmark-gfm wrote: highlighted, drawn, or captioned.
    func codeBlocksDressed(_ html: String) throws -> String {
        let block = #/<pre><code(?: class="language-([^"]+)")?(?: data-meta="([^"]*)")?>(.*?)</code></pre>/#
            .dotMatchesNewlines()
        var output = ""
        var rest = html[...]
        while let match = rest.firstMatch(of: block) {
            output += rest[..<match.range.lowerBound]
            rest = rest[match.range.upperBound...]
            let language = match.1.map(String.init) ?? ""
            let code = unescaped(String(match.3))
            if language == "mermaid", let diagram = SequenceDiagram(mermaid: code) {
                output += "<figure class=\"diagram\">\(diagram.svg())</figure>"
                continue
            }
            let highlighted = ["swift", "go"].contains(language) ? try highlight(code, language) : String(match.3)
            let pre = "<pre class=\"code \(language.isEmpty ? "text" : language)\"><code>\(highlighted)</code></pre>"
            output += caption(unescaped(match.2.map(String.init) ?? "")).map { "<figure>\(pre)\($0)</figure>" } ?? pre
        }
        return output + rest
    }

    /// What a marked block is, said under it: where a listing comes from, that a transcript is checked.
    func caption(_ meta: String) -> String? {
        if meta.hasPrefix("listing=") {
            let target = meta.dropFirst("listing=".count).split(separator: "#", maxSplits: 1)
            guard target.count == 2 else { return nil }
            return "<figcaption>Listing: <code>\(escaped(String(target[0])))</code>, region "
                + "<code>\(escaped(String(target[1])))</code></figcaption>"
        }
        if meta.hasPrefix("go-build=") {
            let folder = escaped(String(meta.dropFirst("go-build=".count)))
            return "<figcaption>What <code>go build</code> says about <code>\(folder)/main.go</code>, "
                + "checked by the tests when Go is installed</figcaption>"
        }
        if meta.hasPrefix("transcript=") {
            let executable = escaped(String(meta.dropFirst("transcript=".count)))
            return "<figcaption>A run of <code>\(executable)</code>, checked against a real run by the tests "
                + "(values in braces change from run to run)</figcaption>"
        }
        return nil
    }

    /// `highlight` (Debian's, by André Simon): spans with `hl` classes, styled by book.css.
    func highlight(_ code: String, _ language: String) throws -> String {
        try ExternalTool.run(
            "highlight", ["--syntax=\(language)", "--out-format=html", "--fragment", "--no-trailing-nl"], input: code)
    }

    /// Links to chapters (`07-tls-server.md#the-server`) point at their pages.
    func linksRewritten(_ html: String) -> String {
        html.replacing(#/href="([A-Za-z0-9_-]+)\.md(#[^"]*)?"/#) { match in
            let file = match.1 == "README" ? "index" : String(match.1)
            return "href=\"\(file).html\(match.2 ?? "")\""
        }
    }

    // MARK: The page around it

    func page(_ page: Page, body: String, previous: Page?, next: Page?, contents: Page) -> String {
        func link(_ target: Page?, _ rel: String, _ label: String) -> String {
            guard let target else { return "<span></span>" }
            return "<a rel=\"\(rel)\" href=\"\(target.file)\">\(label) \(escaped(target.title))</a>"
        }
        let navigation = """
            <nav class="pages">\(link(previous, "prev", "←"))\
            \(page.file == contents.file ? "<span></span>" : "<a href=\"index.html\">Contents</a>")\
            \(link(next, "next", "→"))</nav>
            """
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escaped(page.title)) · Network programming in Swift</title>
            <link rel="stylesheet" href="book.css">
            </head>
            <body>
            \(navigation)
            <main>
            \(body)
            </main>
            \(navigation)
            <footer>Rendered from <code>\(escaped(page.source))</code> by <code>make book</code>.</footer>
            </body>
            </html>

            """
    }

    /// The token colours of highlight's Xcode theme; the layout is book.css's own.
    func highlightStyle() throws -> String {
        let style = try ExternalTool.run(
            "highlight", ["--print-style", "--style=edit-xcode", "--out-format=html", "--stdout"], input: "")
        return style.split(separator: "\n").filter { $0.hasPrefix(".hl.") }.joined(separator: "\n") + "\n"
    }

    static let stylesheet = """
        body { max-width: 52rem; margin: 0 auto; padding: 1rem 1.5rem; font: 17px/1.55 system-ui, sans-serif;
               color: #1d1d1f; background: #fdfdfc; }
        main h1 { font-size: 2rem; line-height: 1.2; }
        h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
        code { font: 0.88em/1.45 "DejaVu Sans Mono", ui-monospace, monospace; }
        pre.code { background: #f5f5f2; border: 1px solid #e2e2dc; border-radius: 6px; padding: 0.7rem 0.9rem;
                   overflow-x: auto; }
        pre.console, pre.text { background: #1f2428; color: #e6e6e6; border-color: #1f2428; }
        figure { margin: 1rem 0; }
        figcaption { font-size: 0.8rem; color: #666; margin-top: 0.2rem; }
        pre.code { tab-size: 4; }
        svg.sequence { max-width: 100%; height: auto; }
        svg.sequence text { font: 13px sans-serif; fill: #1d1d1f; }
        svg.sequence .actor { fill: #e8eef7; stroke: #5b7bb2; }
        svg.sequence .lifeline { stroke: #999; stroke-dasharray: 4 3; }
        svg.sequence .message { stroke: #1d1d1f; stroke-width: 1.3; }
        svg.sequence .arrowhead { fill: #1d1d1f; }
        svg.sequence .note { fill: #fff7d1; stroke: #c9b458; }
        table { border-collapse: collapse; margin: 1rem 0; font-size: 0.92rem; }
        th, td { border: 1px solid #ddd; padding: 0.3rem 0.55rem; vertical-align: top; }
        nav.pages { display: flex; justify-content: space-between; gap: 1rem; font-size: 0.9rem; margin: 0.5rem 0; }
        footer { margin-top: 2rem; font-size: 0.8rem; color: #777; }

        """
}
