import DrvHostControl

/// driverhost's "trace" and "durations" lines (formats: DriverHostCore's
/// Trace and CallbackTiming), read into the control protocol's values.
/// The child is not trusted: a line or record that does not parse is
/// dropped whole, never half-read.
enum TraceLines {
    /// "trace <dropped> <record>..." without the leading "trace ".
    static func parse(trace text: Substring) -> (dropped: UInt64, records: [TraceRecord])? {
        let fields = text.split(separator: " ")
        guard let first = fields.first, let dropped = UInt64(first) else { return nil }
        var records: [TraceRecord] = []
        records.reserveCapacity(fields.count - 1)
        for field in fields.dropFirst() {
            guard let record = record(field) else { return nil }
            records.append(record)
        }
        return (dropped, records)
    }

    static func record(_ text: Substring) -> TraceRecord? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count >= 2, let time = UInt64(parts[1]) else { return nil }
        func hex(_ i: Int) -> UInt64? { i < parts.count ? UInt64(parts[i], radix: 16) : nil }
        func dec(_ i: Int) -> UInt64? { i < parts.count ? UInt64(parts[i]) : nil }
        switch parts[0] {
        case "r", "w":
            guard parts.count == 6, let bar = dec(2), bar < 6, let offset = hex(3), let width = dec(4),
                  [1, 2, 4, 8].contains(width), let value = hex(5) else { return nil }
            var record = TraceRecord(kind: parts[0] == "r" ? .read : .write, timeNs: time)
            record.bar = UInt32(bar)
            record.offset = offset
            record.width = UInt32(width)
            record.value = value
            return record
        case "e":
            guard (5...9).contains(parts.count), let seq = dec(2), let vector = dec(3), let vector32 = UInt32(exactly: vector),
                  let flags = hex(4), let flags32 = UInt32(exactly: flags) else { return nil }
            var snapshot: [UInt64] = []
            for i in 5..<parts.count {
                guard let value = hex(i) else { return nil }
                snapshot.append(value)
            }
            var record = TraceRecord(kind: .event, timeNs: time)
            record.seq = seq
            record.vector = vector32
            record.flags = flags32
            record.snapshot = snapshot
            return record
        case "c":
            guard parts.count == 4, callbacks.contains(String(parts[2])), let duration = dec(3) else { return nil }
            var record = TraceRecord(kind: .callback, timeNs: time)
            record.callback = String(parts[2])
            record.durationNs = duration
            return record
        default:
            return nil
        }
    }

    static let callbacks: Set<String> = ["attach", "detach", "interrupt", "timer", "command"]

    /// "durations <callback> <count> <sum-ns> <le-ns>:<n>,..." without the
    /// leading "durations ". Buckets must grow in bound and count.
    static func parse(durations text: Substring) -> CallbackDurations? {
        let fields = text.split(separator: " ")
        guard fields.count == 4, callbacks.contains(String(fields[0])),
              let count = UInt64(fields[1]), let sum = UInt64(fields[2]) else { return nil }
        var buckets: [CallbackDurations.Bucket] = []
        for pair in fields[3].split(separator: ",") {
            let halves = pair.split(separator: ":")
            guard halves.count == 2, let le = UInt64(halves[0]), let n = UInt64(halves[1]), n <= count,
                  le > (buckets.last?.leNs ?? 0), n >= (buckets.last?.count ?? 0) else { return nil }
            buckets.append(.init(leNs: le, count: n))
        }
        guard buckets.count <= 64 else { return nil }
        return CallbackDurations(callback: String(fields[0]), count: count, sumNs: sum, buckets: buckets)
    }
}

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
