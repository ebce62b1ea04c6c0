import NIOCore
import Synchronization
import DrvHostControl

/// The connections being served, so that shutdown can close them all (idle
/// clients would otherwise keep the server running) and so that they can be
/// limited: per peer uid, and in total, with root and the admin group never
/// locked out by others (they have connections of their own).
final class OpenConnections: Sendable {
    struct Limits: Sendable {
        /// Connections of peers that may not change things, all together.
        var unprivileged: Int
        /// Connections of one such uid.
        var perUser: Int
        /// Connections of root and the admin group, apart from the others.
        var privileged: Int
    }

    enum Admission: Equatable {
        case admitted
        case shuttingDown
        /// Why not, for the refused peer and the log.
        case refused(String)
    }

    private struct Entry {
        var channel: any Channel
        var uid: UInt32
        var privileged: Bool
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var closed = false
    }

    private let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        self.limits = limits
    }

    func admit(_ channel: any Channel, uid: UInt32, privileged: Bool) -> Admission {
        let admission: Admission = state.withLock { state in
            guard !state.closed else { return .shuttingDown }
            let others = state.entries.values.filter { $0.privileged == privileged }
            if privileged {
                guard others.count < limits.privileged else {
                    return .refused("too many control connections of root and the admin group (\(others.count))")
                }
            } else {
                let mine = others.filter { $0.uid == uid }.count
                guard mine < limits.perUser else {
                    return .refused("too many control connections of uid \(uid) (\(mine) open, at most \(limits.perUser))")
                }
                guard others.count < limits.unprivileged else {
                    return .refused("too many control connections (\(others.count) open)")
                }
            }
            state.entries[ObjectIdentifier(channel)] = Entry(channel: channel, uid: uid, privileged: privileged)
            return .admitted
        }
        if admission == .shuttingDown { channel.close(promise: nil) }
        return admission
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Closes the listener first, so no connection comes in after, then
    /// every open connection.
    func closeAll(listener: any Channel) {
        listener.close(promise: nil)
        let open = state.withLock { state in
            state.closed = true
            return state.entries.values.map(\.channel)
        }
        for channel in open { channel.close(promise: nil) }
    }
}
