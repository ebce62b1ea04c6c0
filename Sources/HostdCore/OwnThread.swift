import CHostd
import Glibc
import DrvHostSystem

/// Work that blocks (waiting for a child process, poll) runs on a thread of
/// its own, never on the Swift concurrency pool: the pool has one thread per
/// core, and a few hanging plugins would otherwise stall every request.
func onOwnThread<T: Sendable>(_ name: String, _ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { done in
        let thread = Thread { done.resume(returning: work()) }
        thread.name = name
        thread.start()
    }
}

/// At most `limit` bodies run at once; the others wait their turn in order.
/// Bounds how many threads (and children) a burst of work can take.
actor ConcurrencyGate {
    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    func run<T: Sendable>(_ body: @Sendable () async -> T) async -> T {
        if running < limit {
            running += 1
        } else {
            // The slot is handed over by the one that leaves (running stays).
            await withCheckedContinuation { waiting.append($0) }
        }
        let result = await body()
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
        return result
    }
}

/// The part of Foundation's Thread that hostd uses (a named thread running
/// one closure, detached), on pthreads: Thread is not in FoundationEssentials
/// and the whole of Foundation costs hostd about 40 MB (ICU's data).
final class Thread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    var name = ""

    init(block: @escaping @Sendable () -> Void) {
        body = block
    }

    func start() {
        // The thread owns a retained self until it has run the body.
        let context = Unmanaged.passRetained(self).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            let me = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            _ = chd_name_this_thread(me.name)  // the kernel keeps the first 15 bytes
            me.body()
            return nil
        }, context)
        precondition(result == 0, "\(SystemCallError(result, call: "pthread_create"))")
    }
}
