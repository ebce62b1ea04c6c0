import CDrvHost
import DrvHostProtocol

/// How long plugin callbacks take, for hostd's metrics: a histogram per
/// kind of callback (attach, detach, interrupt, timer, command), reported
/// to hostd cumulatively after a heartbeat answer, never per event.
///
/// Timing a callback costs two clock reads; an interrupt handler runs for
/// every event, so interrupts are sampled (one in `interruptSampling`) and
/// every other, rarer callback is timed. While tracing, every callback is
/// timed (the trace shows each one). The decision costs one decrement and
/// one predictable branch (`due`).
final class CallbackTiming {
    static let interruptSampling = 64
    /// Upper bounds of the buckets, ns (Prometheus' `le`); above the last
    /// only the count and sum say it.
    static let boundsNs: [UInt64] = [
        1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
        250_000_000, 500_000_000, 1_000_000_000, 2_500_000_000,
    ]
    private static let kinds = Int(CDH_CALLBACK_KINDS.rawValue)
    /// Per kind: count, sum, then one count per bucket (not cumulative).
    private static let stride = 2 + boundsNs.count
    private let table = UnsafeMutablePointer<UInt64>.allocate(capacity: kinds * stride)
    private var reported = [UInt64](repeating: 0, count: kinds)
    /// Interrupts left until the next timed one; 0 times the next.
    private var countdown = 1
    /// Every interrupt is timed (tracing).
    var timesEveryInterrupt = false {
        didSet { countdown = 1 }
    }

    init() {
        table.initialize(repeating: 0, count: CallbackTiming.kinds * CallbackTiming.stride)
    }

    deinit {
        table.deallocate()
    }

    /// Whether to time this interrupt.
    @inline(__always)
    func interruptDue() -> Bool {
        countdown &-= 1
        guard _slowPath(countdown <= 0) else { return false }
        countdown = timesEveryInterrupt ? 1 : CallbackTiming.interruptSampling
        return true
    }

    func add(_ which: cdh_trace_callback, durationNs: UInt64) {
        let row = table + Int(which.rawValue) * CallbackTiming.stride
        row[0] &+= 1
        row[1] &+= durationNs
        if let bucket = CallbackTiming.boundsNs.firstIndex(where: { durationNs <= $0 }) {
            row[2 + bucket] &+= 1
        }
    }

    /// "durations" messages for the kinds timed since the last report.
    func report() -> [DriverhostMessage] {
        var lines: [DriverhostMessage] = []
        for kind in 0..<CallbackTiming.kinds {
            let row = table + kind * CallbackTiming.stride
            guard row[0] != reported[kind] else { continue }
            reported[kind] = row[0]
            var cumulative: UInt64 = 0
            var buckets: [CallbackDurations.Bucket] = []
            for (i, bound) in CallbackTiming.boundsNs.enumerated() {
                cumulative += row[2 + i]
                buckets.append(.init(leNs: bound, count: cumulative))
            }
            lines.append(.durations(CallbackDurations(callback: Trace.callbackName(UInt64(kind)), count: row[0],
                                                      sumNs: row[1], buckets: buckets)))
        }
        return lines
    }
}
