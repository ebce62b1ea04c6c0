/// The "trace" message, built record by record: driverhost fills a line up
/// to a size (Trace.flush), so the encoder is incremental. The one encoder
/// and parser of trace records:
///
///   "r|w,<time-ns>,<bar>,<offset-hex>,<width>,<value-hex>"   register access
///   "e,<time-ns>,<seq>,<vector>,<flags-hex>[,<snapshot-hex>]..."  device event (0-4 values)
///   "c,<time-ns>,<callback>,<duration-ns>"                    callback
public struct TraceLine {
    public private(set) var line: String
    public private(set) var count = 0

    public init(dropped: UInt64) {
        line = "trace \(dropped)"
    }

    /// Bytes so far, without the newline.
    public var byteCount: Int { line.utf8.count }

    public mutating func append(_ r: TraceRecord) {
        switch r.kind {
        case .read, .write:
            appendAccess(write: r.kind == .write, timeNs: r.timeNs, bar: UInt64(r.bar ?? 0), offset: r.offset ?? 0,
                         width: UInt64(r.width ?? 0), value: r.value ?? 0)
        case .event:
            (r.snapshot ?? []).withUnsafeBufferPointer { snapshot in
                appendEvent(timeNs: r.timeNs, seq: r.seq ?? 0, vector: UInt64(r.vector ?? 0), flags: UInt64(r.flags ?? 0),
                            snapshot: snapshot)
            }
        case .callback:
            appendCallback(timeNs: r.timeNs, name: r.callback ?? "", durationNs: r.durationNs ?? 0)
        }
    }

    // The record kinds one by one, for driverhost's trace ring: no
    // TraceRecord (and no snapshot array) per record on its way out.

    public mutating func appendAccess(write: Bool, timeNs: UInt64, bar: UInt64, offset: UInt64, width: UInt64, value: UInt64) {
        line += write ? " w," : " r,"
        line += "\(timeNs),\(bar),\(String(offset, radix: 16)),\(width),\(String(value, radix: 16))"
        count += 1
    }

    public mutating func appendEvent(timeNs: UInt64, seq: UInt64, vector: UInt64, flags: UInt64,
                                     snapshot: UnsafeBufferPointer<UInt64>) {
        line += " e,\(timeNs),\(seq),\(vector),\(String(flags, radix: 16))"
        for value in snapshot { line += "," + String(value, radix: 16) }
        count += 1
    }

    public mutating func appendCallback(timeNs: UInt64, name: String, durationNs: UInt64) {
        line += " c,\(timeNs),\(name),\(durationNs)"
        count += 1
    }

    /// "<dropped> <record>..." (after "trace "): every record must parse.
    static func parse(_ text: Substring) -> (dropped: UInt64, records: [TraceRecord])? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard let dropped = WireNumber.parse(fields[0]) else { return nil }
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
        guard parts.count >= 2, let time = WireNumber.parse(parts[1]) else { return nil }
        func hex(_ i: Int) -> UInt64? { i < parts.count ? WireNumber.parse(hex: parts[i]) : nil }
        func dec(_ i: Int) -> UInt64? { i < parts.count ? WireNumber.parse(parts[i]) : nil }
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
            guard (5...9).contains(parts.count), let seq = dec(2), let vector = dec(3).flatMap(UInt32.init(exactly:)),
                  let flags = hex(4).flatMap(UInt32.init(exactly:)) else { return nil }
            var snapshot: [UInt64] = []
            for i in 5..<parts.count {
                guard let value = hex(i) else { return nil }
                snapshot.append(value)
            }
            var record = TraceRecord(kind: .event, timeNs: time)
            record.seq = seq
            record.vector = vector
            record.flags = flags
            record.snapshot = snapshot
            return record
        case "c":
            guard parts.count == 4, TraceRecord.callbacks.contains(String(parts[2])), let duration = dec(3) else { return nil }
            var record = TraceRecord(kind: .callback, timeNs: time)
            record.callback = String(parts[2])
            record.durationNs = duration
            return record
        default:
            return nil
        }
    }
}

extension TraceRecord {
    /// The plugin callbacks that are traced and timed, by name.
    public static let callbacks: Set<String> = ["attach", "detach", "interrupt", "timer", "command"]
}
