import CDrvHost

/// The owner's event ring, with drvproxy's semantics (drvproxy_irq.c):
/// seq counts every claimed interrupt from 1; a full ring drops and counts,
/// and the next record that fits carries DRVPROXY_EVENT_DROPPED and the
/// count; the last slot is kept for a storm or error record, so that news
/// is never lost, and nothing queued is ever overwritten.
struct EventRing {
    static let slots = 1024      // DRVPROXY_RING_ENTRIES
    static let capacity = slots - 1   // DRVPROXY_RING_CAPACITY, what INFO reports
    private var records: [drvproxy_event]
    private var head = 0         // records pushed, ever (mod capacity: next slot)
    private var tail = 0         // records read, ever
    private var nextSeq: UInt64 = 0
    private var pendingDrops: UInt64 = 0
    private(set) var dropped: UInt64 = 0
    /// Records were lost since the owner last read: it is not keeping up.
    private(set) var dropsSinceRead = false

    init() {
        records = Array(repeating: drvproxy_event(), count: EventRing.slots)
    }

    var isEmpty: Bool { head == tail }

    mutating func reset() {
        head = 0
        tail = 0
        nextSeq = 0
        pendingDrops = 0
        dropsSinceRead = false
    }

    mutating func push(vector: UInt32, flags: UInt32, result: regprog_result) {
        nextSeq += 1
        let seq = nextSeq
        let lastWord = flags & UInt32(DRVPROXY_EVENT_STORM | DRVPROXY_EVENT_ERROR) != 0
        guard head - tail < (lastWord ? EventRing.slots : EventRing.capacity) else {
            pendingDrops += 1
            dropped += 1
            dropsSinceRead = true
            return
        }
        let slot = head % EventRing.slots
        head += 1
        let lost = pendingDrops
        pendingDrops = 0
        var event = drvproxy_event()
        event.seq = seq
        event.timestamp_ns = cdh_monotonic_ns()
        event.vector = vector
        event.flags = flags | (lost != 0 ? UInt32(DRVPROXY_EVENT_DROPPED) : 0)
        event.dropped = UInt32(clamping: lost)
        event.nsnap = result.nsnap
        event.snap = result.snap
        if result.nsnap < UInt32(DRVPROXY_MAX_SNAPSHOTS) {
            withUnsafeMutableBytes(of: &event.snap) { bytes in
                for i in Int(result.nsnap)..<Int(DRVPROXY_MAX_SNAPSHOTS) {
                    bytes.storeBytes(of: 0, toByteOffset: i * 8, as: UInt64.self)
                }
            }
        }
        records[slot] = event
    }

    /// Moves up to `max` records out, oldest first. Returns whether records
    /// were lost since the previous read that took any.
    mutating func pop(max: Int) -> (records: [drvproxy_event], lostSincePreviousRead: Bool) {
        let count = min(max, head - tail)
        let lost = dropsSinceRead
        if count > 0 { dropsSinceRead = false }
        var out: [drvproxy_event] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            out.append(records[tail % EventRing.slots])
            tail += 1
        }
        return (out, lost)
    }
}
