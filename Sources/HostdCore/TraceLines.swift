import DrvHostControl
import DrvHostProtocol

/// What the supervisor keeps about an instance's trace and callback
/// durations (InstanceRecord.trace).
struct InstanceTrace {
    struct Follower {
        var continuation: AsyncStream<TraceBatch>.Continuation
        var droppedInHostd: UInt64 = 0
    }
    var followers: [Int: Follower] = [:]
    /// The current driverhost's drop count in its last line, and those of
    /// the instance's earlier driverhosts while the trace was followed.
    var droppedInDriverhost: UInt64 = 0
    var droppedEarlier: UInt64 = 0
    /// Callback durations of the instance's earlier driverhosts, and of the
    /// current one (reported cumulatively by each), by callback.
    var earlierDurations: [String: CallbackDurations] = [:]
    var currentDurations: [String: CallbackDurations] = [:]

    /// A report from the current driverhost.
    mutating func take(_ durations: CallbackDurations) {
        currentDurations[durations.callback] = durations
    }

    /// The current driverhost has exited: its figures are final.
    mutating func driverhostEnded() {
        for (name, figures) in currentDurations { earlierDurations[name] = Self.sum(earlierDurations[name], figures) }
        currentDurations.removeAll()
    }

    /// Across the instance's driverhosts, by callback name.
    var durations: [CallbackDurations]? {
        let names = Set(earlierDurations.keys).union(currentDurations.keys).sorted()
        guard !names.isEmpty else { return nil }
        return names.compactMap { Self.sum(earlierDurations[$0], currentDurations[$0]) }
    }

    static func sum(_ a: CallbackDurations?, _ b: CallbackDurations?) -> CallbackDurations? {
        guard let a else { return b }
        guard let b else { return a }
        // Both come from the same driverhost binary's bounds; should they
        // differ, the newer wins rather than mixing bounds.
        guard a.buckets.map(\.leNs) == b.buckets.map(\.leNs) else { return b }
        return CallbackDurations(callback: a.callback, count: a.count &+ b.count, sumNs: a.sumNs &+ b.sumNs,
                                 buckets: zip(a.buckets, b.buckets).map { .init(leNs: $0.leNs, count: $0.count &+ $1.count) })
    }
}
