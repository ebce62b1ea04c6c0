// What driverhost's trace and timing send its supervisor ("trace" and
// "durations" lines, DriverhostMessage), which hostd relays to hostctl
// as they are (DrvHostControl's TraceBatch).

/// One traced thing. Times are CLOCK_MONOTONIC in ns: a register access
/// when it happened, an event when its interrupt came (the kernel's
/// timestamp), a callback when it started.
public struct TraceRecord: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case read, write        // register access through the host table
        case event              // a device event handed to interrupt()
        case callback           // a plugin callback, with its duration
    }
    public var kind: Kind
    public var timeNs: UInt64
    public var bar: UInt32?             // read, write
    public var offset: UInt64?
    public var width: UInt32?           // bytes
    public var value: UInt64?           // the value read or written
    public var seq: UInt64?             // event
    public var vector: UInt32?
    public var flags: UInt32?
    public var snapshot: [UInt64]?      // what the ACK program snapshotted
    public var callback: String?        // callback: attach, detach, interrupt, timer, command
    public var durationNs: UInt64?

    public init(kind: Kind, timeNs: UInt64) {
        self.kind = kind
        self.timeNs = timeNs
    }
}

/// Plugin callback durations of one kind, sampled by driverhost (every
/// callback but interrupt(), one in 64 of those; all while tracing), for
/// the metrics: a histogram, cumulative since the instance's driverhost started.
public struct CallbackDurations: Codable, Equatable, Sendable {
    public var callback: String
    public var count: UInt64
    public var sumNs: UInt64
    /// (upper bound in ns, callbacks at most that long), increasing.
    public var buckets: [Bucket]

    public struct Bucket: Codable, Equatable, Sendable {
        public var leNs: UInt64
        public var count: UInt64

        public init(leNs: UInt64, count: UInt64) {
            self.leNs = leNs
            self.count = count
        }
    }

    public init(callback: String, count: UInt64, sumNs: UInt64, buckets: [Bucket]) {
        self.callback = callback; self.count = count; self.sumNs = sumNs; self.buckets = buckets
    }
}
