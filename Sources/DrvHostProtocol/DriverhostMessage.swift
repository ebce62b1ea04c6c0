/// What a driverhost tells its supervisor on the control channel: one line
/// per message, fields separated by single spaces, free text escaped with
/// LineEscaping so that neither spaces nor newlines break the framing.
///
///   "device <kind> <name>"          the class device it serves (before "attached")
///   "queues <kind> <fd>,<fd>..."     its descriptors of that device's queues, for the
///                                   supervisor to take (pidfd_getfd) and keep across crashes
///   "attached <restart-count>"      attach succeeded
///   "pong <n>"                      answers "ping <n>"
///   "failed <message>"              why it is about to exit with an error
///   "result <id> <text>"            a call's result
///   "error <id> <message>"          a call that failed
///   "counters <kind> <name>=<n>..."  its class server's counters
///   "trace <dropped> <record>..."   while tracing (TraceLine)
///   "durations <callback> <count> <sum-ns> <le-ns>:<n>,..."
///                                   sampled callback times, cumulative
///   "exit <code>"                   the exit code it is about to end with
///
/// The supervisor does not trust the child: `init?(line:)` takes a line
/// whole or not at all (nil: malformed, or a message it does not know).
public enum DriverhostMessage: Equatable, Sendable {
    case device(ClassDevice)
    case queues(kind: String, fds: [Int32])
    case attached(restartCount: UInt32)
    case pong(UInt64)
    case failed(String)
    case result(id: String, text: String)
    case error(id: String, message: String)
    case counters(kind: String, [ClassCounter])
    case trace(dropped: UInt64, records: [TraceRecord])
    case durations(CallbackDurations)
    case exit(Int32)

    /// The line, without its newline.
    public var line: String {
        switch self {
        case .device(let device): "device \(device.kind) \(LineEscaping.escape(device.name))"
        case .queues(let kind, let fds): "queues \(kind) " + fds.map(String.init).joined(separator: ",")
        case .attached(let restarts): "attached \(restarts)"
        case .pong(let n): "pong \(n)"
        case .failed(let message): "failed \(LineEscaping.escape(message))"
        case .result(let id, let text): "result \(LineEscaping.escape(id)) \(LineEscaping.escape(text))"
        case .error(let id, let message): "error \(LineEscaping.escape(id)) \(LineEscaping.escape(message))"
        case .counters(let kind, let counters):
            (["counters", kind] + counters.map { "\($0.name)=\($0.value)" }).joined(separator: " ")
        case .trace(let dropped, let records):
            records.reduce(into: TraceLine(dropped: dropped)) { $0.append($1) }.line
        case .durations(let d):
            "durations \(d.callback) \(d.count) \(d.sumNs) " + d.buckets.map { "\($0.leNs):\($0.count)" }.joined(separator: ",")
        case .exit(let code): "exit \(code)"
        }
    }

    public init?(line: some StringProtocol) {
        let line = Substring(line)
        let fields = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
        let rest = fields.count == 2 ? fields[1] : nil
        switch (fields[0], rest) {
        case ("device", let rest?):
            let parts = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let name = LineEscaping.unescape(parts[1]) else { return nil }
            let device = ClassDevice(kind: String(parts[0]), name: name)
            guard device.isValid else { return nil }
            self = .device(device)
        case ("queues", let rest?):
            let parts = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, ClassDevice.isWord(parts[0]) else { return nil }
            let numbers = parts[1].split(separator: ",", omittingEmptySubsequences: false)
            guard numbers.count <= DriverhostMessage.maxQueues else { return nil }
            var fds: [Int32] = []
            for number in numbers {
                guard let fd = WireNumber.parse(number).flatMap(Int32.init(exactly:)) else { return nil }
                fds.append(fd)
            }
            self = .queues(kind: String(parts[0]), fds: fds)
        case ("attached", let rest?):
            guard let restarts = WireNumber.parse(rest).flatMap(UInt32.init(exactly:)) else { return nil }
            self = .attached(restartCount: restarts)
        case ("pong", let rest?):
            guard let n = WireNumber.parse(rest) else { return nil }
            self = .pong(n)
        case ("failed", let rest?):
            guard let message = LineEscaping.unescape(rest) else { return nil }
            self = .failed(message)
        case ("result", let rest?), ("error", let rest?):
            let parts = rest.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, let id = LineEscaping.unescape(parts[0]),
                  let text = LineEscaping.unescape(parts[1]) else { return nil }
            self = fields[0] == "result" ? .result(id: id, text: text) : .error(id: id, message: text)
        case ("counters", let rest?):
            guard let (kind, counters) = DriverhostMessage.counters(rest) else { return nil }
            self = .counters(kind: kind, counters)
        case ("trace", let rest?):
            guard let (dropped, records) = TraceLine.parse(rest) else { return nil }
            self = .trace(dropped: dropped, records: records)
        case ("durations", let rest?):
            guard let durations = DriverhostMessage.durations(rest) else { return nil }
            self = .durations(durations)
        case ("exit", let rest?):
            guard let code = WireNumber.parse(rest).flatMap(Int32.init(exactly:)) else { return nil }
            self = .exit(code)
        default:
            return nil
        }
    }

    /// More queue descriptors than any class device has (net.h: at most 8).
    public static let maxQueues = 64

    /// "net rx_frames=1 carrier=1": a kind, then one to ClassCounter.maxCount
    /// pairs of a counter name and a decimal value.
    private static func counters(_ text: Substring) -> (String, [ClassCounter])? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count >= 2, fields.count - 1 <= ClassCounter.maxCount, ClassDevice.isWord(fields[0]) else { return nil }
        var counters: [ClassCounter] = []
        for pair in fields.dropFirst() {
            guard let equals = pair.firstIndex(of: "="), ClassCounter.isName(pair[..<equals]),
                  let value = WireNumber.parse(pair[pair.index(after: equals)...]) else { return nil }
            counters.append(ClassCounter(name: String(pair[..<equals]), value: value))
        }
        return (String(fields[0]), counters)
    }

    /// "<callback> <count> <sum-ns> <le-ns>:<n>,...": buckets grow in bound
    /// and count, at most 64 of them.
    private static func durations(_ text: Substring) -> CallbackDurations? {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 4, TraceRecord.callbacks.contains(String(fields[0])),
              let count = WireNumber.parse(fields[1]), let sum = WireNumber.parse(fields[2]) else { return nil }
        var buckets: [CallbackDurations.Bucket] = []
        for pair in fields[3].split(separator: ",", omittingEmptySubsequences: false) {
            let halves = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard halves.count == 2, let le = WireNumber.parse(halves[0]), let n = WireNumber.parse(halves[1]), n <= count,
                  le > (buckets.last?.leNs ?? 0), n >= (buckets.last?.count ?? 0) else { return nil }
            buckets.append(.init(leNs: le, count: n))
        }
        guard buckets.count <= 64 else { return nil }
        return CallbackDurations(callback: String(fields[0]), count: count, sumNs: sum, buckets: buckets)
    }
}

/// Numbers on the wire: digits only (no sign, no spaces), as the encoders
/// write them. Swift's own integer parsing would take "+5".
enum WireNumber {
    static func parse(_ text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 20, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(text)
    }

    static func parse(hex text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 16,
              text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return UInt64(text, radix: 16)
    }
}
