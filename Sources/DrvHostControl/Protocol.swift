// The control socket's wire protocol.
//
// One JSON object per line (UTF-8, "\n" terminated), in both directions. A
// client may send several requests on one connection; hostd answers each, in
// order, before reading the next. A line longer than the server's limit
// (64 KiB by default) gets an error answer and the connection is closed.
//
// Requests carry an `id` (an integer the answer repeats), an `op` and the
// op's fields:
//
//   {"id":1,"op":"load","plugin":"edu.so","device":"0000:00:05.0"}   device optional
//   {"id":2,"op":"unload","target":"edu"}                 plugin or instance name
//   {"id":3,"op":"list"}                                  -> [PluginRow]
//   {"id":4,"op":"devices"}                               -> [DeviceRow]
//   {"id":5,"op":"instances"}                             -> [InstanceStatus]
//   {"id":6,"op":"status","instance":"edu@0000:00:05.0"}  -> InstanceStatus
//   {"id":7,"op":"restart","instance":"edu@0000:00:05.0"} -> InstanceStatus
//   {"id":8,"op":"call","instance":"edu@0000:00:05.0","command":"factorial","args":["10"]} -> String
//   {"id":9,"op":"metrics"}                               -> String (Prometheus text format)
//   {"id":11,"op":"logs","instance":"edu@0000:00:05.0","lines":50,"follow":false}
//                                                         -> String, one answer line per
//                    log line (the last `lines`, then with follow each new one), then the
//                    connection ends (without follow: once they are sent)
//   {"id":12,"op":"trace","instance":"edu@0000:00:05.0"}
//                                                         -> TraceBatch, one answer line per
//                    batch (at least one a second: drop counts, and a closed client is
//                    noticed), until the client closes the connection or the instance
//                    is unloaded; the instance's driverhosts trace while anyone watches
//   {"id":10,"op":"watch"}                                -> InstanceStatus, one answer line
//                    per instance now, then one per state change as it happens, until
//                    the client closes the connection (it serves nothing else then)
//
// load answers the [InstanceStatus] it started, unload the [String] instance
// names it removed. Answers:
//
//   {"id":1,"ok":true,"result":...}
//   {"id":1,"ok":false,"error":{"code":"notFound","message":"..."}}
//
// `code` is a ControlError.Code. An answer to a line that could not be read
// far enough to find its id has no id. list, devices, instances, status,
// metrics, watch and logs are open to anyone who can connect; load, unload, restart, call
// and trace (it shows the device's data and costs the driver time) need root or membership
// in the socket's group (checked from SO_PEERCRED).

/// What a client asks of hostd, checked for completeness.
public enum ControlCommand: Equatable, Sendable {
    case load(plugin: String, device: String?)
    case unload(target: String)
    case plugins
    case devices
    case instances
    case status(instance: String)
    case restart(instance: String)
    case call(instance: String, command: String, arguments: [String])
    case metrics
    case watch
    case logs(instance: String, lines: Int, follow: Bool)
    case trace(instance: String)

    /// The `op` field that names this command on the wire.
    public var op: String {
        switch self {
        case .load: "load"
        case .unload: "unload"
        case .plugins: "list"
        case .devices: "devices"
        case .instances: "instances"
        case .status: "status"
        case .restart: "restart"
        case .call: "call"
        case .metrics: "metrics"
        case .watch: "watch"
        case .logs: "logs"
        case .trace: "trace"
        }
    }

    /// Commands that change something need root or the drvhost group (and
    /// trace, which reads the device's registers as the driver does).
    public var changesState: Bool {
        switch self {
        case .load, .unload, .restart, .call, .trace: true
        case .plugins, .devices, .instances, .status, .metrics, .watch, .logs: false
        }
    }
}

/// One request line.
public struct ControlRequest: Equatable, Sendable {
    public var id: Int
    public var command: ControlCommand

    public init(id: Int, command: ControlCommand) {
        self.id = id
        self.command = command
    }
}

extension ControlRequest: Codable {
    enum CodingKeys: String, CodingKey {
        case id, op, plugin, device, target, instance, command, args, lines, follow
    }

    /// Throws ControlError(.badRequest) with a message that names the
    /// missing or wrong field; DecodingError only for a field of the wrong
    /// JSON type, which the caller words.
    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: CodingKeys.self)
        guard let id = try fields.decodeIfPresent(Int.self, forKey: .id) else {
            throw ControlError(.badRequest, "missing \"id\"")
        }
        guard let op = try fields.decodeIfPresent(String.self, forKey: .op) else {
            throw ControlError(.badRequest, "missing \"op\"")
        }
        func required(_ key: CodingKeys) throws -> String {
            guard let value = try fields.decodeIfPresent(String.self, forKey: key), !value.isEmpty else {
                throw ControlError(.badRequest, "\"\(op)\" needs a non-empty \"\(key.stringValue)\"")
            }
            return value
        }
        self.id = id
        switch op {
        case "load":
            command = .load(plugin: try required(.plugin),
                            device: try fields.decodeIfPresent(String.self, forKey: .device))
        case "unload": command = .unload(target: try required(.target))
        case "list": command = .plugins
        case "devices": command = .devices
        case "instances": command = .instances
        case "metrics": command = .metrics
        case "watch": command = .watch
        case "logs":
            let lines = try fields.decodeIfPresent(Int.self, forKey: .lines) ?? 100
            guard (0...100_000).contains(lines) else { throw ControlError(.badRequest, "\"logs\" needs \"lines\" from 0 to 100000") }
            command = .logs(instance: try required(.instance), lines: lines,
                            follow: try fields.decodeIfPresent(Bool.self, forKey: .follow) ?? false)
        case "status": command = .status(instance: try required(.instance))
        case "trace": command = .trace(instance: try required(.instance))
        case "restart": command = .restart(instance: try required(.instance))
        case "call":
            command = .call(instance: try required(.instance), command: try required(.command),
                            arguments: try fields.decodeIfPresent([String].self, forKey: .args) ?? [])
        default:
            throw ControlError(.badRequest, "unknown op \"\(op)\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var fields = encoder.container(keyedBy: CodingKeys.self)
        try fields.encode(id, forKey: .id)
        try fields.encode(command.op, forKey: .op)
        switch command {
        case .load(let plugin, let device):
            try fields.encode(plugin, forKey: .plugin)
            try fields.encodeIfPresent(device, forKey: .device)
        case .unload(let target):
            try fields.encode(target, forKey: .target)
        case .plugins, .devices, .instances, .metrics, .watch:
            break
        case .logs(let instance, let lines, let follow):
            try fields.encode(instance, forKey: .instance)
            try fields.encode(lines, forKey: .lines)
            try fields.encode(follow, forKey: .follow)
        case .status(let instance), .restart(let instance), .trace(let instance):
            try fields.encode(instance, forKey: .instance)
        case .call(let instance, let command, let arguments):
            try fields.encode(instance, forKey: .instance)
            try fields.encode(command, forKey: .command)
            try fields.encode(arguments, forKey: .args)
        }
    }
}

/// One answer line. `Result` is the type the request's op answers with.
public struct ControlResponse<Result: Codable & Sendable>: Codable, Sendable {
    public var id: Int?
    public var ok: Bool
    public var result: Result?
    public var error: ControlError?

    public static func success(id: Int, _ result: Result) -> Self {
        Self(id: id, ok: true, result: result, error: nil)
    }

    public static func failure(id: Int?, _ error: ControlError) -> Self {
        Self(id: id, ok: false, result: nil, error: error)
    }
}

/// The answer type of an op with no result, used to encode and decode
/// error answers.
public struct NoResult: Codable, Sendable {}
