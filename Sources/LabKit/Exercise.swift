// The stub of an exercise. In the student's copy of the project (`make starter`), each
// part of a lab the student writes is replaced by one call to `exercise`, which compiles
// wherever that code was (it never returns) and, when the lab gets there, says what to
// write and where to read about it.
import Foundation

/// Stops the lab with one line on stderr naming the lab, the task and the chapter, and
/// exit status 3 (`Lab.Exit.exerciseNotDone`), which the grader recognises.
public func exercise(lab: Int, task: String, chapter: String) -> Never {
    let name = URL(fileURLWithPath: CommandLine.arguments.first ?? "lab").lastPathComponent
    exitOnce(Lab.Exit.exerciseNotDone, saying: "\(name): lab \(lab) exercise not done yet: \(task) (read \(chapter))")
}
