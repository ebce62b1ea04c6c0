import Glibc

/// One OS thread that runs, in the order given, work the kernel may block:
/// sysfs bind and unbind writes (the kernel waits for the driver's remove,
/// which waits for whoever holds the device) and cgroup file reads. The
/// supervisor awaits the result and meanwhile answers everything else, so
/// a held device delays only the next piece of work on the same worker,
/// never the control plane; and one thread, however long the queue.
final class SerialWorker: @unchecked Sendable {
    /// sysfs bind, unbind and driver_override writes, in order.
    static let bindings = SerialWorker(name: "hostd-binding")
    /// cgroup reads and kills (what a driverhost left behind); apart from
    /// the bindings, so a held device never delays them.
    static let cgroups = SerialWorker(name: "hostd-cgroups")

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var queue: [() -> Void] = []

    init(name: String) {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        let thread = Thread { [self] in serve() }
        thread.name = name
        thread.start()
    }

    /// Runs `work` on the worker's thread, after what was given before.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { done in
            enqueue { done.resume(returning: work()) }
        }
    }

    private func enqueue(_ job: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        queue.append(job)
        pthread_cond_signal(&wake)
        pthread_mutex_unlock(&mutex)
    }

    private func serve() {
        while true {
            pthread_mutex_lock(&mutex)
            while queue.isEmpty { pthread_cond_wait(&wake, &mutex) }
            let jobs = queue
            queue.removeAll(keepingCapacity: true)
            pthread_mutex_unlock(&mutex)
            for job in jobs { job() }
        }
    }
}
