import NIOCore
import Synchronization

/// The connections being served, so that shutdown can close them all (idle
/// clients would otherwise keep the server running) and so that their
/// number can be limited.
final class OpenConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// The number of connections open including this one; nil once
    /// shutdown began (the connection is then closed).
    func add(_ channel: any Channel) -> Int? {
        let count: Int? = state.withLock { state in
            guard !state.closed else { return nil }
            state.channels[ObjectIdentifier(channel)] = channel
            return state.channels.count
        }
        if count == nil { channel.close(promise: nil) }
        return count
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes the listener first, so no connection comes in after, then
    /// every open connection.
    func closeAll(listener: any Channel) {
        listener.close(promise: nil)
        let open = state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
        for channel in open { channel.close(promise: nil) }
    }
}
