#if canImport(Glibc)
import Glibc
import DrvHostSystem
#endif

/// Why a request got no result. hostctl maps each case to an exit code.
public enum ControlClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No hostd answers on the socket (missing, refused, connection lost).
    case unreachable(String)
    /// The socket's permissions keep us out.
    case socketPermissionDenied(String)
    /// hostd answered with an error.
    case refused(ControlError)
    /// hostd answered something that is not the protocol.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .unreachable(let text), .socketPermissionDenied(let text), .protocolViolation(let text): text
        case .refused(let error): "\(error.code.rawValue): \(error.message)"
        }
    }
}

/// A connection to hostd's control socket: one request at a time, each
/// answered before the next is sent.
public final class ControlClient {
    public static let defaultSocketPath = "/run/drvhost/control.sock"

    private let socket: UnixStreamSocket
    private let socketPath: String
    private var nextID = 1

    /// Seconds hostctl waits for each send and receive (SDK/README.md
    /// "Numbers" states it): a plugin command may take a while.
    public static let defaultTimeoutSeconds = 120

    /// `timeout` in seconds bounds each send and receive.
    public init(socketPath: String, timeout: Int? = ControlClient.defaultTimeoutSeconds) throws(ControlClientError) {
        self.socketPath = socketPath
        do {
            socket = try UnixStreamSocket(connectingTo: socketPath, timeout: timeout)
        } catch {
            switch error.code {
            case EACCES, EPERM:
                throw .socketPermissionDenied("cannot connect to \(socketPath): permission denied "
                    + "(root or group drvhost needed)")
            default:
                throw .unreachable("hostd is not running: cannot connect to \(socketPath): \(error.errno)")
            }
        }
    }

    public func send<Result: Codable & Sendable>(
        _ command: ControlCommand, expecting: Result.Type = Result.self
    ) throws(ControlClientError) -> Result {
        let id = nextID
        nextID += 1
        do {
            try socket.send(WireCodec.encodeRequest(ControlRequest(id: id, command: command)))
        } catch {
            throw .unreachable("connection to hostd at \(socketPath) failed: \(error)")
        }
        return try receive(id: id)
    }

    /// The next answer to request `id`.
    func receive<Result: Codable & Sendable>(id: Int) throws(ControlClientError) -> Result {
        guard let result: Result = try nextAnswer(id: id) else {
            throw .unreachable("hostd at \(socketPath) closed the connection without answering")
        }
        return result
    }

    /// The next answer to request `id`, or nil at the end of the connection.
    func nextAnswer<Result: Codable & Sendable>(id: Int) throws(ControlClientError) -> Result? {
        let line: [UInt8]?
        do {
            line = try socket.receiveLine()
        } catch {
            throw .unreachable("connection to hostd at \(socketPath) failed: \(error)")
        }
        guard let line else { return nil }
        let response: ControlResponse<Result>
        do {
            response = try WireCodec.decodeResponse(line, as: Result.self)
        } catch {
            throw .protocolViolation("unreadable answer from hostd: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        guard response.id == id || response.id == nil else {
            throw .protocolViolation("answer for request \(response.id ?? -1) while waiting for \(id)")
        }
        if let error = response.error, !response.ok { throw .refused(error) }
        guard response.ok, let result = response.result else {
            throw .protocolViolation("answer to request \(id) has neither result nor error")
        }
        return result
    }
}

extension ControlClient {
    public func load(plugin: String, device: String?) throws(ControlClientError) -> [InstanceStatus] {
        try send(.load(plugin: plugin, device: device))
    }
    public func unload(_ target: String) throws(ControlClientError) -> [String] {
        try send(.unload(target: target))
    }
    public func plugins() throws(ControlClientError) -> [PluginRow] { try send(.plugins) }
    public func devices() throws(ControlClientError) -> [DeviceRow] { try send(.devices) }
    public func instances() throws(ControlClientError) -> [InstanceStatus] { try send(.instances) }
    public func metrics() throws(ControlClientError) -> String { try send(.metrics) }
    public func status(_ instance: String) throws(ControlClientError) -> InstanceStatus {
        try send(.status(instance: instance))
    }
    public func restart(_ instance: String) throws(ControlClientError) -> InstanceStatus {
        try send(.restart(instance: instance))
    }
    /// `watch`: hands each instance's state, then each change, to `each`
    /// until it returns false or hostd closes the connection. Create the
    /// client without a timeout: quiet is normal here.
    public func watch(_ each: (InstanceStatus) -> Bool) throws(ControlClientError) {
        guard each(try send(.watch)) else { return }
        // hostd closing the connection (its shutdown) ends the watch.
        while let status: InstanceStatus = try nextAnswer(id: nextID - 1) {
            guard each(status) else { return }
        }
    }

    /// `logs`: hands each log line to `each` until the log (or, with
    /// `follow`, the instance) ends, or `each` returns false.
    public func logs(_ instance: String, lines: Int, follow: Bool, _ each: (String) -> Bool) throws(ControlClientError) {
        let id = nextID
        nextID += 1
        do {
            try socket.send(WireCodec.encodeRequest(ControlRequest(id: id, command: .logs(instance: instance, lines: lines, follow: follow))))
        } catch {
            throw .unreachable("connection to hostd at \(socketPath) failed: \(error)")
        }
        while let line: String = try nextAnswer(id: id) {
            guard each(line) else { return }
        }
    }

    /// `trace`: hands each batch to `each` until it returns false, the
    /// instance is unloaded or hostd closes the connection.
    public func trace(_ instance: String, _ each: (TraceBatch) -> Bool) throws(ControlClientError) {
        guard each(try send(.trace(instance: instance))) else { return }
        while let batch: TraceBatch = try nextAnswer(id: nextID - 1) {
            guard each(batch) else { return }
        }
    }

    public func call(_ instance: String, command: String, arguments: [String]) throws(ControlClientError) -> String {
        try send(.call(instance: instance, command: command, arguments: arguments))
    }
}
