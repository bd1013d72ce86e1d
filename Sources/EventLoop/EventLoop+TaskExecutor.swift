// The loop as a Swift task executor. Go's scheduler polls the network itself: a goroutine
// woken by the netpoller runs on the thread that polled, with no hand-off. By default a
// Swift task resumed from the loop's thread is handed to the cooperative pool: one more
// thread to wake, one more queue, for every read that waited. A task started with this
// loop as its executor preference (`group.addTask(executorPreference: loop)`) runs its
// jobs here, between `epoll_wait`s, like a goroutine on its P: the resumption is a job
// appended to the loop's own list. Such a task must never block: it would block the loop.
import Sockets

extension EventLoop: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        execute { job.runSynchronously(on: executor) }
    }
}
