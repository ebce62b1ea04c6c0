import CDrvHostSDK

/// One device interrupt, as the ACK program saw it (struct dh_event).
public struct Event: Sendable {
    /// Counts claimed interrupts from 1; gaps only where `dropped` says.
    public let sequence: UInt64
    /// CLOCK_MONOTONIC nanoseconds, taken when the interrupt came.
    public let timestampNs: UInt64
    /// MSI-X vector, else 0.
    public let vector: UInt32
    /// Events lost to a full ring just before this one.
    public let dropped: UInt32
    /// The line was masked as an interrupt storm.
    public let isStorm: Bool
    /// What the ACK program snapshotted, in program order.
    public let snapshots: Snapshots

    init(_ raw: dh_event) {
        sequence = raw.seq
        timestampNs = raw.timestamp_ns
        vector = raw.vector
        dropped = raw.flags & UInt32(DH_EVENT_DROPPED) != 0 ? raw.dropped : 0
        isStorm = raw.flags & UInt32(DH_EVENT_STORM) != 0
        snapshots = Snapshots(count: Int(min(raw.nsnap, UInt32(DH_MAX_SNAPSHOTS))), values: raw.snap)
    }

    /// Up to four values, without an allocation per interrupt.
    public struct Snapshots: RandomAccessCollection, Sendable {
        public let count: Int
        let values: (UInt64, UInt64, UInt64, UInt64)

        public var startIndex: Int { 0 }
        public var endIndex: Int { count }

        public subscript(index: Int) -> UInt64 {
            precondition(index >= 0 && index < count, "snapshot \(index) of \(count)")
            switch index {
            case 0: return values.0
            case 1: return values.1
            case 2: return values.2
            default: return values.3
            }
        }
    }
}
