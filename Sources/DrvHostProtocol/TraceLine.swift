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

    public mutating func append(_ record: TraceRecord) {
        line += " "
        line += TraceLine.field(record)
        count += 1
    }

    static func field(_ r: TraceRecord) -> String {
        switch r.kind {
        case .read, .write:
            let kind = r.kind == .read ? "r" : "w"
            return "\(kind),\(r.timeNs),\(r.bar ?? 0),\(String(r.offset ?? 0, radix: 16)),\(r.width ?? 0),\(String(r.value ?? 0, radix: 16))"
        case .event:
            var text = "e,\(r.timeNs),\(r.seq ?? 0),\(r.vector ?? 0),\(String(r.flags ?? 0, radix: 16))"
            for value in r.snapshot ?? [] { text += "," + String(value, radix: 16) }
            return text
        case .callback:
            return "c,\(r.timeNs),\(r.callback ?? ""),\(r.durationNs ?? 0)"
        }
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
