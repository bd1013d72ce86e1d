// What a chapter says it shows. Two kinds of marked block:
//
//     <!-- listing: Labs/03-blocking-read/main.swift#copy -->
//     ```swift
//     (the region's lines, written by `make sync`, never by hand)
//     ```
//
//     <!-- transcript: blocking-read -->
//     ```console
//     $ make lab-3
//     (the demo's output, with {PORT}, {DURATION}… for what changes from run to run)
//     ```
//
//     <!-- go-build: Chapters/go/read-from -->
//     ```console
//     $ go build main.go
//     (what Go's compiler says about that folder's main.go, which must not compile)
//     ```

public struct Chapter {
    public struct Block {
        public enum Kind: Equatable {
            /// A region of a source file: path relative to the project, and region name.
            case listing(path: String, region: String)
            /// A run of a lab executable with these arguments.
            case transcript(executable: String, arguments: [String])
            /// What `go build` says about the `main.go` in this folder (relative to the project).
            case goBuild(folder: String)
        }

        public let kind: Kind
        /// 1-based line of the marker comment, for messages.
        public let line: Int
        /// The lines between the fences.
        public let body: [String]
        /// Index of the opening fence and of the closing fence in the chapter's lines.
        let open: Int
        let close: Int
    }

    public let path: String
    public let lines: [String]
    public let blocks: [Block]
    /// Markers that are not followed by a fenced block.
    public let malformed: [(line: Int, message: String)]

    public init(path: String, text: String) {
        self.path = path
        lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [Block] = []
        var malformed: [(Int, String)] = []
        for (index, line) in lines.enumerated() {
            guard let kind = Chapter.marker(line) else { continue }
            let open = index + 1
            guard open < lines.count, lines[open].hasPrefix("```"),
                let close = lines[(open + 1)...].firstIndex(where: { $0.hasPrefix("```") })
            else {
                malformed.append((index + 1, "marker `\(line.trimmingWhitespace())` is not followed by a fenced block"))
                continue
            }
            blocks.append(
                Block(kind: kind, line: index + 1, body: Array(lines[(open + 1)..<close]), open: open, close: close))
        }
        self.blocks = blocks
        self.malformed = malformed
    }

    static func marker(_ line: String) -> Block.Kind? {
        let text = line.trimmingWhitespace()
        guard text.hasPrefix("<!--"), text.hasSuffix("-->") else { return nil }
        let inner = String(text.dropFirst(4).dropLast(3)).trimmingWhitespace()
        if inner.hasPrefix("listing:") {
            let target = String(inner.dropFirst("listing:".count)).trimmingWhitespace()
            guard let hash = target.lastIndex(of: "#") else { return nil }
            return .listing(path: String(target[..<hash]), region: String(target[target.index(after: hash)...]))
        }
        if inner.hasPrefix("transcript:") {
            let words = inner.dropFirst("transcript:".count).split(separator: " ").map(String.init)
            guard let executable = words.first else { return nil }
            return .transcript(executable: executable, arguments: Array(words.dropFirst()))
        }
        if inner.hasPrefix("go-build:") {
            let folder = String(inner.dropFirst("go-build:".count)).trimmingWhitespace()
            return folder.isEmpty ? nil : .goBuild(folder: folder)
        }
        return nil
    }

    /// The chapter's text with each listing's body replaced by `newBody(block)` (nil: keep).
    public func replacingListings(_ newBody: (Block) -> [String]?) -> String {
        var output: [String] = []
        var next = 0
        for block in blocks {
            guard case .listing = block.kind, let body = newBody(block) else { continue }
            output += lines[next...block.open]
            output += body
            next = block.close
        }
        output += lines[next...]
        return output.joined(separator: "\n")
    }
}
