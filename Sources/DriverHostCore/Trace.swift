import CDrvHost
import DrvHostProtocol
import Glibc
import DrvHostSystem

/// `hostctl trace`, driverhost's half: while hostd asks for it ("trace on"
/// on the control channel), register accesses through the host table,
/// device events and plugin callbacks are recorded into a fixed ring
/// (CDrvHost/trace_ring.c) and sent to hostd as "trace" lines by a timer on
/// the loop.
///
/// Bounded everywhere, so that tracing can never stall the interrupt loop
/// or cost the instance its life:
/// - the ring holds `capacity` records; a record that finds it full is
///   dropped and counted (every line carries the count so far);
/// - lines go out without blocking, and only while hostd has read all but
///   64 KiB of what was sent (ControlChannel.hasRoomWithoutBlocking): answers
///   and pongs, sent blocking, always find room; otherwise records wait in
///   the ring (and drop there);
/// - at most `bytesPerSecond` of trace lines: a quarter of what hostd lets a
///   driverhost send in all (InputBudget, 1 MiB/s, and it kills a child that
///   sends more), so the rest of the channel and stderr keep their room.
///
/// When off, the cost is one predictable branch per register access and
/// callback (`isOn`); the ring is allocated only when tracing first starts.
///
/// Lines are DrvHostProtocol's "trace" message (TraceLine), filled up to
/// maxLineBytes.
final class Trace {
    static let capacity: UInt32 = 8192
    static let bytesPerSecond = 256 * 1024
    /// How often the loop sends what the ring holds.
    static let flushIntervalNs: UInt64 = 20_000_000
    /// A line stays well below hostd's 64 KiB limit.
    static let maxLineBytes = 8 * 1024

    /// Read without synchronisation from any thread that touches registers:
    /// a thread that sees it late records one access more or less.
    private(set) var isOn = false
    private var ring: OpaquePointer?
    private var timer: Descriptor?
    private var tokens = 0
    private var lastRefill: UInt64 = 0
    private var droppedSent: UInt64 = 0

    deinit {
        cdh_trace_ring_destroy(ring)
    }

    /// Starts tracing; the loop watches `timer` and calls flush at each tick.
    /// False if the ring or the timer cannot be had (tracing stays off).
    func start(watching add: (Int32) throws(SystemCallError) -> Void) -> Bool {
        guard !isOn else { return true }
        if ring == nil { ring = cdh_trace_ring_create(Trace.capacity) }
        guard ring != nil else { return false }
        if timer == nil {
            guard let made = try? Descriptor(taking: systemCall("timerfd_create") { cdh_timerfd_create() }),
                  (try? add(made.raw)) != nil else { return false }
            timer = made
        }
        guard let timer, cdh_timerfd_set(timer.raw, Trace.flushIntervalNs, Trace.flushIntervalNs) == 0 else { return false }
        var stale = cdh_trace_record()
        while cdh_trace_ring_pop(ring, &stale) == 1 {}
        tokens = Trace.bytesPerSecond / 10
        lastRefill = cdh_monotonic_ns()
        isOn = true
        return true
    }

    /// Stops tracing; what the ring still holds is discarded.
    func stop() {
        guard isOn else { return }
        isOn = false
        if let timer { _ = cdh_timerfd_set(timer.raw, 0, 0) }
    }

    var timerDescriptor: Int32? { timer?.raw }

    @inline(never)
    func register(write: Bool, bar: UInt32, offset: UInt64, width: UInt64, value: UInt64) {
        var record = cdh_trace_record()
        record.time_ns = cdh_monotonic_ns()
        record.kind = UInt32(write ? CDH_TRACE_WRITE.rawValue : CDH_TRACE_READ.rawValue)
        record.a = UInt64(bar)
        record.b = offset
        record.c = value
        record.width = UInt32(width)
        push(&record)
    }

    @inline(never)
    func event(_ event: UnsafePointer<dh_event>) {
        var record = cdh_trace_record()
        record.time_ns = event.pointee.timestamp_ns
        record.kind = UInt32(CDH_TRACE_EVENT.rawValue)
        record.a = event.pointee.seq
        record.b = UInt64(event.pointee.vector)
        record.flags = event.pointee.flags
        record.width = min(event.pointee.nsnap, UInt32(DH_MAX_SNAPSHOTS))
        record.snap = event.pointee.snap
        push(&record)
    }

    @inline(never)
    func callback(_ which: cdh_trace_callback, start: UInt64, duration: UInt64) {
        var record = cdh_trace_record()
        record.time_ns = start
        record.kind = UInt32(CDH_TRACE_CALLBACK.rawValue)
        record.a = UInt64(which.rawValue)
        record.b = duration
        push(&record)
    }

    private func push(_ record: inout cdh_trace_record) {
        guard let ring else { return }
        _ = cdh_trace_ring_push(ring, &record)
    }

    var dropped: UInt64 { ring.map(cdh_trace_ring_dropped) ?? 0 }

    /// Sends what the ring holds, as far as the rate bound and the socket
    /// allow, without blocking; with nobody to send to, discards it. Loop
    /// thread, at each tick of the timer.
    func flush(to channel: ControlChannel?) {
        guard let timer else { return }
        _ = try? timer.readCounter()
        guard isOn, let ring else { return }
        guard let channel else {
            var discarded = cdh_trace_record()
            while cdh_trace_ring_pop(ring, &discarded) == 1 {}
            return
        }
        let now = cdh_monotonic_ns()
        let earned = Int(min(now &- lastRefill, 1_000_000_000) * UInt64(Trace.bytesPerSecond) / 1_000_000_000)
        tokens = min(tokens + earned, Trace.bytesPerSecond / 10)
        lastRefill = now
        var record = cdh_trace_record()
        // Records leave the ring only for a line that can go now.
        while tokens >= Trace.maxLineBytes, channel.hasRoomWithoutBlocking {
            let dropped = self.dropped
            var line = TraceLine(dropped: dropped)
            while line.byteCount < Trace.maxLineBytes - 256, cdh_trace_ring_pop(ring, &record) == 1 {
                Trace.append(record, to: &line)
            }
            // Nothing new: no line, unless the drop count moved.
            guard line.count > 0 || dropped != droppedSent else { return }
            droppedSent = dropped
            tokens -= line.byteCount + 1
            channel.sendWithoutBlocking(line.line)
        }
    }

    /// A ring record onto a trace line, in the protocol's terms.
    static func append(_ record: cdh_trace_record, to line: inout TraceLine) {
        switch cdh_trace_kind(rawValue: record.kind) {
        case CDH_TRACE_READ, CDH_TRACE_WRITE:
            line.appendAccess(write: record.kind == CDH_TRACE_WRITE.rawValue, timeNs: record.time_ns, bar: record.a,
                              offset: record.b, width: UInt64(record.width), value: record.c)
        case CDH_TRACE_EVENT:
            withUnsafeBytes(of: record.snap) { raw in
                let values = raw.bindMemory(to: UInt64.self)
                line.appendEvent(timeNs: record.time_ns, seq: record.a, vector: record.b, flags: UInt64(record.flags),
                                 snapshot: UnsafeBufferPointer(rebasing: values.prefix(Int(record.width))))
            }
        default:
            line.appendCallback(timeNs: record.time_ns, name: callbackName(record.a), durationNs: record.b)
        }
    }

    static func callbackName(_ which: UInt64) -> String {
        switch cdh_trace_callback(rawValue: UInt32(truncatingIfNeeded: which)) {
        case CDH_CALLBACK_ATTACH: "attach"
        case CDH_CALLBACK_DETACH: "detach"
        case CDH_CALLBACK_INTERRUPT: "interrupt"
        case CDH_CALLBACK_TIMER: "timer"
        default: "command"
        }
    }
}
