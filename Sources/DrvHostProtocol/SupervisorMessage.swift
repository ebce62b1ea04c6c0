/// What a supervisor (hostd) tells a driverhost on the control channel, in
/// the framing of DriverhostMessage.
///
///   "start <restart-count> [<kind> <name> [<carrier-grace-ms>]]"
///                                            a --standby driverhost: open the device and
///                                            attach (recovering that class device); a net
///                                            interface handed over with its carrier on keeps
///                                            it that much longer unless the plugin says "up"
///   "stop"                                   detach and exit 0, like SIGTERM
///   "ping <n>"                               answered at once with "pong <n>"
///   "call <id> <command> <arg>..."           run a plugin command
///   "trace on" / "trace off"                 start or stop tracing (hostctl trace)
///   "adopt"                                  a new supervisor's first line on the
///                                            listener, carrying its log pipe (SCM_RIGHTS)
public enum SupervisorMessage: Equatable, Sendable {
    case start(restartCount: UInt32, classDevice: ClassDevice?, carrierGraceMs: UInt32? = nil)
    case stop
    case ping(UInt64)
    case call(id: String, command: String, arguments: [String])
    case trace(Bool)
    case adopt

    /// The line, without its newline.
    public var line: String {
        switch self {
        case .start(let restarts, nil, _): "start \(restarts)"
        case .start(let restarts, let device?, let grace):
            "start \(restarts) \(device.kind) \(LineEscaping.escape(device.name))" + (grace.map { " \($0)" } ?? "")
        case .stop: "stop"
        case .ping(let n): "ping \(n)"
        case .call(let id, let command, let arguments):
            (["call", LineEscaping.escape(id), LineEscaping.escape(command)] + arguments.map(LineEscaping.escape))
                .joined(separator: " ")
        case .trace(let on): on ? "trace on" : "trace off"
        case .adopt: "adopt"
        }
    }

    /// A line as driverhost reads it. Unknown lines are ignored (either
    /// side may grow first); a call whose id is readable but whose rest is
    /// not gets an answer saying why.
    public enum Parsed: Equatable, Sendable {
        case message(SupervisorMessage)
        case malformedCall(id: String, why: String)
        case unknown
    }

    public static func parse(_ line: some StringProtocol) -> Parsed {
        let line = Substring(line)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        switch (fields[0], fields.count) {
        case ("stop", 1): return .message(.stop)
        case ("adopt", 1): return .message(.adopt)
        case ("ping", 2):
            return WireNumber.parse(fields[1]).map { .message(.ping($0)) } ?? .unknown
        case ("trace", 2) where fields[1] == "on" || fields[1] == "off":
            return .message(.trace(fields[1] == "on"))
        case ("start", 2), ("start", 4), ("start", 5):
            guard let restarts = WireNumber.parse(fields[1]).flatMap(UInt32.init(exactly:)) else { return .unknown }
            guard fields.count >= 4 else { return .message(.start(restartCount: restarts, classDevice: nil)) }
            guard let name = LineEscaping.unescape(fields[3]) else { return .unknown }
            let device = ClassDevice(kind: String(fields[2]), name: name)
            guard device.isValid else { return .unknown }
            guard fields.count == 5 else { return .message(.start(restartCount: restarts, classDevice: device)) }
            guard let grace = WireNumber.parse(fields[4]).flatMap(UInt32.init(exactly:)) else { return .unknown }
            return .message(.start(restartCount: restarts, classDevice: device, carrierGraceMs: grace))
        case ("call", let count) where count >= 2:
            guard let id = LineEscaping.unescape(fields[1]) else { return .unknown }
            guard count >= 3, let command = LineEscaping.unescape(fields[2]) else {
                return .malformedCall(id: id, why: "malformed call: no command name")
            }
            var arguments: [String] = []
            for field in fields.dropFirst(3) {
                guard let argument = LineEscaping.unescape(field) else {
                    return .malformedCall(id: id, why: "malformed call: bad escape in \"\(field)\"")
                }
                arguments.append(argument)
            }
            return .message(.call(id: id, command: command, arguments: arguments))
        default:
            return .unknown
        }
    }
}
