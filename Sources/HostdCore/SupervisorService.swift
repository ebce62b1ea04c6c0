import Logging
import ServiceLifecycle

/// The supervisor as a swift-service-lifecycle service: starts it, tells
/// systemd it is ready once the control socket listens, and on graceful
/// shutdown (SIGTERM) unloads everything and restores the bindings.
public struct SupervisorService: Service {
    let supervisor: Supervisor
    let notifier: SystemdNotifier
    let listening: @Sendable () async throws -> Void

    public init(supervisor: Supervisor, notifier: SystemdNotifier = SystemdNotifier(),
                untilListening listening: @escaping @Sendable () async throws -> Void = {}) {
        self.supervisor = supervisor
        self.notifier = notifier
        self.listening = listening
    }

    public func run() async throws {
        // The control socket first: a second hostd started by mistake must
        // fail there, before it adopts the first one's driverhosts.
        try await listening()
        try await supervisor.start()
        notifier.notify("READY=1\nSTATUS=supervising")
        // Returns on graceful shutdown; throws on cancellation, after which
        // there is nothing left to wait for either.
        try? await gracefulShutdown()
        notifier.notify("STOPPING=1")
        await supervisor.shutdown()
    }
}
