/// Answers one request line for one peer: decodes it, checks the peer may
/// do it, asks the supervisor, encodes the answer. Knows nothing of sockets,
/// so the whole protocol can be tested without one.
public struct RequestHandler: Sendable {
    public let supervisor: any SupervisorAPI
    public let policy: AccessPolicy

    public init(supervisor: any SupervisorAPI, policy: AccessPolicy) {
        self.supervisor = supervisor
        self.policy = policy
    }

    /// What a request line asks for: one answer, or (watch) a stream of them.
    public enum Reply: Sendable {
        case answer([UInt8])
        case stream(AsyncStream<[UInt8]>)
    }

    public func reply(_ line: some Collection<UInt8>, from peer: PeerCredentials) async -> Reply {
        guard let request = try? WireCodec.decodeRequest(line) else { return .answer(await answer(line, from: peer)) }
        switch request.command {
        case .watch:
            return .stream(Self.lines(of: await supervisor.watch(buffer: RequestHandler.watchBuffer), id: request.id))
        case .logs(let instance, let lines, let follow):
            do {
                return .stream(Self.lines(of: try await supervisor.logs(instance, lines: lines, follow: follow), id: request.id))
            } catch {
                return .answer(WireCodec.encodeFailure(id: request.id, error))
            }
        case .trace(let instance):
            guard policy.mayChange(peer) else { return .answer(await answer(line, from: peer)) }
            do {
                return .stream(Self.lines(of: try await supervisor.trace(instance), id: request.id))
            } catch {
                return .answer(WireCodec.encodeFailure(id: request.id, error))
            }
        default:
            return .answer(await answer(line, from: peer))
        }
    }

    /// Each value as an answer line to request `id`, encoded when the
    /// connection asks for the next one: a client that reads slowly holds
    /// back only this pull, so the supervisor's stream stays the one bounded
    /// buffer (it drops and, for a trace, counts), and dropping the lines
    /// drops the supervisor's stream with them (its onTermination runs).
    private static func lines<Value: Codable & Sendable>(of values: AsyncStream<Value>, id: Int) -> AsyncStream<[UInt8]> {
        let source = Pull(values.makeAsyncIterator())
        return AsyncStream(unfolding: {
            guard let value = await source.next() else { return nil }
            return WireCodec.encodeSuccess(id: id, value)
        })
    }

    /// The supervisor stream's iterator, used by one consumer at a time
    /// (the connection's loop), as AsyncStream(unfolding:) calls it.
    private final class Pull<Value: Sendable>: @unchecked Sendable {
        private var iterator: AsyncStream<Value>.Iterator

        init(_ iterator: AsyncStream<Value>.Iterator) {
            self.iterator = iterator
        }

        func next() async -> Value? {
            await iterator.next()
        }
    }

    /// State changes a watcher may fall behind by before the oldest go.
    static let watchBuffer = 1024

    /// The answer line, newline included.
    public func answer(_ line: some Collection<UInt8>, from peer: PeerCredentials) async -> [UInt8] {
        let request: ControlRequest
        do {
            request = try WireCodec.decodeRequest(line)
        } catch {
            return WireCodec.encodeFailure(id: error.id, error.error)
        }
        guard !request.command.changesState || policy.mayChange(peer) else {
            return WireCodec.encodeFailure(id: request.id, ControlError(
                .permissionDenied, "\"\(request.command.op)\" needs root or membership in the drvhost group"))
        }
        do {
            return try await perform(request)
        } catch {
            return WireCodec.encodeFailure(id: request.id, error)
        }
    }

    private func perform(_ request: ControlRequest) async throws(ControlError) -> [UInt8] {
        let id = request.id
        switch request.command {
        case .load(let plugin, let device):
            return WireCodec.encodeSuccess(id: id, try await supervisor.load(plugin: plugin, device: device))
        case .unload(let target):
            return WireCodec.encodeSuccess(id: id, try await supervisor.unload(target))
        case .plugins:
            return WireCodec.encodeSuccess(id: id, await supervisor.plugins())
        case .devices:
            return WireCodec.encodeSuccess(id: id, await supervisor.devices())
        case .instances:
            return WireCodec.encodeSuccess(id: id, await supervisor.instances())
        case .status(let instance):
            return WireCodec.encodeSuccess(id: id, try await supervisor.status(instance))
        case .restart(let instance):
            return WireCodec.encodeSuccess(id: id, try await supervisor.restart(instance))
        case .call(let instance, let command, let arguments):
            return WireCodec.encodeSuccess(
                id: id, try await supervisor.call(instance, command: command, arguments: arguments))
        case .metrics:
            return WireCodec.encodeSuccess(id: id, await supervisor.metrics())
        case .watch, .logs, .trace:
            // Streams go through reply(_:from:).
            return WireCodec.encodeFailure(id: id, ControlError(.badRequest, "\(request.command.op) streams: use reply(_:from:)"))
        }
    }
}
