// The guide's literate tool:
//   literate sync                  copy every listing in Chapters/ from its source region
//   literate check [--bin DIR]     listings match their sources; with --bin, transcripts
//                                  match a real run of each lab built in DIR, and, when Go
//                                  is installed, `go build` says what the chapters show
//   literate book [--out DIR]      the chapters as HTML pages in DIR (default: book)
import Foundation
import Literate

let arguments = Array(CommandLine.arguments.dropFirst())
let book = Book(root: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))

func usage() -> Never {
    FileHandle.standardError.write(
        Data("usage: literate sync | literate check [--bin DIR] | literate book [--out DIR]\n".utf8))
    exit(2)
}

do {
    switch arguments.first {
    case "sync":
        let changed = try book.sync()
        print(
            changed.isEmpty
                ? "every listing already matches its source" : changed.map { "updated \($0)" }.joined(separator: "\n"))
        let left = try book.checkListings()
        left.forEach { print($0) }
        exit(left.isEmpty ? 0 : 1)
    case "check":
        var problems = try book.checkListings()
        if arguments.count == 3, arguments[1] == "--bin" {
            problems += try book.checkTranscripts(binaries: URL(fileURLWithPath: arguments[2]))
            if let go = Book.goCommand() {
                problems += try book.checkGoBuilds(go: go)
            } else {
                print("Go is not installed: the chapters' `go build` transcripts were not checked")
            }
        } else if arguments.count != 1 {
            usage()
        }
        problems.forEach { print($0) }
        print(problems.isEmpty ? "chapters match their sources" : "\(problems.count) problem(s)")
        exit(problems.isEmpty ? 0 : 1)
    case "book":
        guard arguments.count == 1 || (arguments.count == 3 && arguments[1] == "--out") else { usage() }
        let directory = URL(fileURLWithPath: arguments.count == 3 ? arguments[2] : "book")
        let pages = try HTMLBook(book).render(into: directory)
        print("wrote \(pages.count) pages in \(directory.path)/: \(pages.map(\.file).joined(separator: " "))")
    default:
        usage()
    }
} catch {
    FileHandle.standardError.write(Data("literate: \(error)\n".utf8))
    exit(1)
}
