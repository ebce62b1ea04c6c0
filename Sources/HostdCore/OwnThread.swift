import Foundation

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
