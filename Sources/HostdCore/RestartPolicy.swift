/// When to restart a crashed instance, as a pure value: it is told the time
/// of each crash and answers; it never reads a clock or sleeps, so tests can
/// drive it with made-up instants.
///
/// The first crash (after a quiet window) restarts at once; each further
/// crash within the window doubles the delay from `initialBackoffMs` up to
/// `maxBackoffMs`; the `maxCrashes`-th crash within `windowMs` gives up.
public struct RestartPolicy: Equatable, Sendable {
    public struct Limits: Equatable, Sendable {
        public var maxCrashes = 5
        public var windowMs = 30_000
        public var initialBackoffMs = 50
        public var maxBackoffMs = 5_000
        public init() {}
        public init(maxCrashes: Int, windowMs: Int, initialBackoffMs: Int, maxBackoffMs: Int) {
            self.maxCrashes = maxCrashes; self.windowMs = windowMs
            self.initialBackoffMs = initialBackoffMs; self.maxBackoffMs = maxBackoffMs
        }
    }

    public enum Decision: Equatable, Sendable {
        case restart(afterMs: Int)
        case giveUp(crashes: Int, withinMs: Int)
    }

    public let limits: Limits
    /// Crash times (milliseconds on a monotonic clock) still inside the window.
    public private(set) var recentCrashes: [Int64] = []

    public init(_ limits: Limits) {
        self.limits = limits
    }

    public mutating func crashed(atMs now: Int64) -> Decision {
        recentCrashes.removeAll { now - $0 >= Int64(limits.windowMs) }
        recentCrashes.append(now)
        let count = recentCrashes.count
        if count >= limits.maxCrashes {
            return .giveUp(crashes: count, withinMs: limits.windowMs)
        }
        if count == 1 { return .restart(afterMs: 0) }
        // 2nd crash in the window: initial; then doubling, capped.
        let doublings = min(count - 2, 30)
        let delay = min(limits.initialBackoffMs << doublings, limits.maxBackoffMs)
        return .restart(afterMs: delay)
    }

    /// A manual restart or a new load starts the count afresh.
    public mutating func reset() {
        recentCrashes.removeAll()
    }
}
