// The chapters draw their sequence diagrams in Mermaid's notation, which GitHub renders.
// Debian packages no Mermaid renderer, so the book draws the few statements the chapters
// use as an SVG of its own: `participant X as label`, `X->>Y: message`, `Note over X: text`
// and `Note over X,Y: text`. Anything else is shown as the text it is.
import Foundation

struct SequenceDiagram {
    enum Event {
        case message(from: Int, to: Int, text: String)
        case note(first: Int, last: Int, text: String)
    }

    private(set) var participants: [(id: String, label: String)] = []
    private(set) var events: [Event] = []

    /// nil when the text uses a statement this drawing does not know.
    init?(mermaid text: String) {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.first == "sequenceDiagram" else { return nil }
        for line in lines.dropFirst() {
            if line.hasPrefix("participant ") {
                let rest = line.dropFirst("participant ".count)
                let parts = rest.components(separatedBy: " as ")
                participants.append((parts[0], parts.count > 1 ? parts[1...].joined(separator: " as ") : parts[0]))
            } else if line.hasPrefix("Note over "), let colon = line.firstIndex(of: ":") {
                let names = line[line.index(line.startIndex, offsetBy: 10)..<colon].split(separator: ",")
                let indices = names.compactMap { index(of: $0.trimmingCharacters(in: .whitespaces)) }
                guard !indices.isEmpty, indices.count == names.count else { return nil }
                events.append(.note(first: indices.min()!, last: indices.max()!, text: rest(after: colon, in: line)))
            } else if let arrow = line.range(of: "->>"), let colon = line.firstIndex(of: ":"), arrow.upperBound < colon
            {
                guard let from = index(of: String(line[..<arrow.lowerBound]).trimmingCharacters(in: .whitespaces)),
                    let to = index(of: String(line[arrow.upperBound..<colon]).trimmingCharacters(in: .whitespaces))
                else { return nil }
                events.append(.message(from: from, to: to, text: rest(after: colon, in: line)))
            } else {
                return nil
            }
        }
        guard participants.count >= 2 else { return nil }
    }

    private func index(of id: String) -> Int? { participants.firstIndex { $0.id == id } }
    private func rest(after colon: String.Index, in line: String) -> String {
        String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
    }

    // MARK: Drawing

    /// A rough width for text in the diagram's 13 px sans-serif font.
    private static func width(_ text: String) -> Double { Double(text.count) * 7.2 + 16 }

    /// The diagram as an inline SVG element, sized to fit its longest note and message.
    func svg() -> String {
        let row = 34.0, top = 50.0
        let widest =
            events.map { event -> Double in
                switch event {
                case .message(_, _, let text), .note(_, _, let text): Self.width(text)
                }
            }.max() ?? 100
        let gap = max(widest + 20, 260)
        let margin = max(widest / 2 + 10, 80)
        let xs = participants.indices.map { margin + Double($0) * gap }
        let width = xs.last! + margin
        let height = top + Double(events.count) * row + 30
        var parts: [String] = []
        for (index, participant) in participants.enumerated() {
            let x = xs[index], box = Self.width(participant.label)
            parts.append(
                "<rect x=\"\(x - box / 2)\" y=\"6\" width=\"\(box)\" height=\"28\" rx=\"4\" class=\"actor\"/>"
                    + "<text x=\"\(x)\" y=\"25\" text-anchor=\"middle\">\(escaped(participant.label))</text>"
                    + "<line x1=\"\(x)\" y1=\"34\" x2=\"\(x)\" y2=\"\(height - 6)\" class=\"lifeline\"/>")
        }
        for (number, event) in events.enumerated() {
            let y = top + Double(number) * row
            switch event {
            case .message(let from, let to, let text):
                let (x1, x2) = (xs[from], xs[to])
                let head = x2 > x1 ? x2 - 8 : x2 + 8
                parts.append(
                    "<text x=\"\((x1 + x2) / 2)\" y=\"\(y + 10)\" text-anchor=\"middle\">\(escaped(text))</text>"
                        + "<line x1=\"\(x1)\" y1=\"\(y + 18)\" x2=\"\(head)\" y2=\"\(y + 18)\" class=\"message\"/>"
                        + "<path d=\"M\(x2) \(y + 18) L\(head) \(y + 13) L\(head) \(y + 23) Z\" class=\"arrowhead\"/>")
            case .note(let first, let last, let text):
                let center = (xs[first] + xs[last]) / 2
                let box = max(Self.width(text), xs[last] - xs[first] + 40)
                parts.append(
                    "<rect x=\"\(center - box / 2)\" y=\"\(y)\" width=\"\(box)\" height=\"26\" class=\"note\"/>"
                        + "<text x=\"\(center)\" y=\"\(y + 17)\" text-anchor=\"middle\">\(escaped(text))</text>")
            }
        }
        let summary = participants.map(\.label).joined(separator: " and ")
        return """
            <svg class="sequence" role="img" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" \
            xmlns="http://www.w3.org/2000/svg"><title>sequence diagram: \(escaped(summary))</title>\(parts.joined())</svg>
            """
    }
}

/// Text made safe to put between HTML or SVG tags and in attribute values.
func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// cmark-gfm's escaping undone: the code text as the chapter wrote it.
func unescaped(_ html: String) -> String {
    html.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
}
