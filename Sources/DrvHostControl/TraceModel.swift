import DrvHostProtocol
// What `hostctl trace` receives: batches of trace records, as hostd relays
// them from the instance's driverhost (DriverHostCore/Trace.swift records
// them; HostdCore/Supervisor+Trace.swift relays them).

/// One answer line of a trace: records, and how many were lost so far
/// (never silently): in driverhost (its ring was full: hostd, or the rate
/// bound, could not take them fast enough) and in hostd (this client fell
/// behind). An empty batch says that the trace is still on.
public struct TraceBatch: Codable, Equatable, Sendable {
    public var records: [TraceRecord]
    public var droppedInDriverhost: UInt64
    public var droppedInHostd: UInt64

    public init(records: [TraceRecord], droppedInDriverhost: UInt64, droppedInHostd: UInt64) {
        self.records = records
        self.droppedInDriverhost = droppedInDriverhost
        self.droppedInHostd = droppedInHostd
    }
}
