import FoundationEssentials
import Glibc

/// sd_notify(3)'s protocol without libsystemd: one datagram of
/// "KEY=VALUE" lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
/// or "@name" in the abstract namespace). Without the variable: nothing.
public struct SystemdNotifier: Sendable {
    let socketPath: String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    @discardableResult
    public func notify(_ state: String) -> Bool {
        guard let socketPath, let socket = UnixDatagramSocket() else { return false }
        defer { socket.close() }
        return socket.send(Array(state.utf8), to: socketPath) == 0
    }
}
