import ArgumentParser
import DrvHostControl
import FoundationEssentials
import Glibc
import DrvHostProtocol

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Trace an instance: its plugin's register accesses, device events and callbacks, as they happen.",
        discussion: """
            The instance's driverhost traces while a trace is followed, and stops when the last one ends. \
            Register accesses through the host table are seen; accesses through a direct BAR pointer are not. \
            Bounded: records that cannot be sent or shown in time are dropped, and the counts are printed \
            ("dropped: N in driverhost, M in hostd"). Needs root or the drvhost group.
            """)

    @Argument(help: ArgumentHelp("Instance name, e.g. edu@0000:00:05.0.", valueName: "instance"))
    var instance: String

    @Option(name: [.customShort("n"), .long], help: "Stop after this many records (default: until interrupted or unloaded).")
    var limit: Int?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateInstance(instance)
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var printer = TracePrinter(json: output.json)
        try connection.withClient(timeout: nil) { client throws(ControlClientError) in
            try client.trace(instance) { batch in
                printer.print(batch, limit: limit)
            }
        }
        printer.finish()
    }
}

/// Text: one line per record, in the order driverhost recorded them, times
/// relative to the first; a callback is recorded when it returns, so its
/// line says so at that time (JSON: its start, timeNs). A "dropped:" line
/// whenever the counts move. --json: one TraceBatch per line.
struct TracePrinter {
    let json: Bool
    private var start: UInt64?
    private var printed = 0
    private var dropped: (UInt64, UInt64) = (0, 0)
    private var shownDropped = false

    init(json: Bool) {
        self.json = json
    }

    /// False once `limit` records are out.
    mutating func print(_ batch: TraceBatch, limit: Int?) -> Bool {
        var batch = batch
        if let limit { batch.records = Array(batch.records.prefix(limit - printed)) }
        printed += batch.records.count
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            Swift.print(String(decoding: try! encoder.encode(batch), as: UTF8.self))
        } else {
            for record in batch.records { Swift.print(line(record)) }
            if (batch.droppedInDriverhost, batch.droppedInHostd) != dropped {
                dropped = (batch.droppedInDriverhost, batch.droppedInHostd)
                shownDropped = true
                Swift.print(droppedLine)
            }
        }
        fflush(nil)  // a pipe reader sees each record when it comes
        return limit.map { printed < $0 } ?? true
    }

    /// The counts at the end, if no line has said them yet.
    func finish() {
        guard !json, !shownDropped else { return }
        Swift.print(droppedLine)
    }

    private var droppedLine: String { "dropped: \(dropped.0) in driverhost, \(dropped.1) in hostd" }

    /// "+0.000412 write  BAR0+0x8 4 0x00000005"
    mutating func line(_ record: TraceRecord) -> String {
        let at = record.timeNs &+ (record.kind == .callback ? record.durationNs ?? 0 : 0)
        let start = self.start ?? at
        self.start = start
        let offset = Int64(bitPattern: at &- start)
        let time = (offset < 0 ? "-" : "+") + decimal(offset.magnitude, places: 6)
        func hex(_ value: UInt64?, digits: Int = 0) -> String {
            let text = String(value ?? 0, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        switch record.kind {
        case .read, .write:
            return "\(time) \(record.kind == .read ? "read " : "write") BAR\(record.bar ?? 0)+\(hex(record.offset)) "
                + "\(record.width ?? 0) \(hex(record.value, digits: 2 * Int(record.width ?? 0)))"
        case .event:
            let snapshot = (record.snapshot ?? []).map { hex($0) }.joined(separator: " ")
            return "\(time) event seq \(record.seq ?? 0) vector \(record.vector ?? 0) flags \(hex(record.flags.map(UInt64.init)))"
                + (snapshot.isEmpty ? "" : " snap \(snapshot)")
        case .callback:
            return "\(time) \(record.callback ?? "?")() returned after \(decimal(record.durationNs ?? 0, places: 3, unit: 1000)) us"
        }
    }

    /// ns as seconds (places 6) or, with unit 1000, as µs.
    private func decimal(_ ns: UInt64, places: Int, unit: UInt64 = 1_000_000_000) -> String {
        var scale: UInt64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = ns * scale / unit
        let fraction = String(scaled % scale)
        return "\(scaled / scale)." + String(repeating: "0", count: places - fraction.count) + fraction
    }
}
