#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import DrvHostControl

/// hostd's control socket: accepts connections on a Unix socket, answers
/// one JSON request per line through a SupervisorAPI (see Protocol.swift).
///
/// Limits that keep one client from hurting the others: a maximum line
/// length (error answer, then disconnect), a maximum number of connections
/// per peer uid and in total, counted apart for root and the admin group so
/// that nobody else can lock them out (OpenConnections), and an idle timeout that closes a connection on which nothing moved in
/// either direction (a client that stopped reading its answers stops being
/// read from, by backpressure, and then goes idle too). Requests on one
/// connection are answered in order; connections are served concurrently.
///
/// Runs until cancelled or until graceful shutdown; then it closes the
/// listener and all connections and removes the socket file.
public final class ControlServer: Service {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// Group allowed to connect and to change things (besides root).
        public var group: String
        /// Socket file mode when `group` exists (root-only 0600 otherwise).
        public var socketMode: mode_t = 0o660
        public var maximumLineLength = 64 * 1024
        /// Connections of peers that may only read, all together...
        public var maximumConnections = 64
        /// ...and of one uid among them.
        public var maximumConnectionsPerUser = 8
        /// Connections of root and the admin group, apart from the others.
        public var maximumPrivilegedConnections = 64
        public var idleTimeout: TimeAmount = .seconds(60)
        /// Who may change things; by default root and members of `group`.
        public var accessPolicy: AccessPolicy?

        public init(socketPath: String, group: String) {
            self.socketPath = socketPath
            self.group = group
        }
    }

    private let configuration: Configuration
    private let handler: RequestHandler
    private let logger: Logger
    private let listening = ListeningSignal()
    private let connections: OpenConnections

    public convenience init(socketPath: String, group: String, supervisor: any SupervisorAPI, logger: Logger) {
        self.init(configuration: Configuration(socketPath: socketPath, group: group),
                  supervisor: supervisor, logger: logger)
    }

    public init(configuration: Configuration, supervisor: any SupervisorAPI, logger: Logger) {
        self.configuration = configuration
        self.handler = RequestHandler(
            supervisor: supervisor,
            policy: configuration.accessPolicy ?? AccessPolicy(adminGroupNamed: configuration.group))
        self.logger = logger
        connections = OpenConnections(limits: .init(unprivileged: configuration.maximumConnections,
                                                    perUser: configuration.maximumConnectionsPerUser,
                                                    privileged: configuration.maximumPrivilegedConnections))
    }

    /// Returns once the socket accepts connections; throws what run() threw
    /// if it failed before that.
    public func waitUntilListening() async throws {
        try await listening.wait()
    }

    public func run() async throws {
        let socketFile = SocketFile(path: configuration.socketPath)
        let server: NIOAsyncChannel<Connection, Never>
        do {
            try socketFile.prepare()
            server = try await bind()
            try socketFile.restrict(toGroup: configuration.group, mode: configuration.socketMode, logger: logger)
        } catch {
            listening.finish(throwing: error)
            throw error
        }
        defer { socketFile.remove() }
        logger.info("control socket listening", metadata: ["socket": "\(configuration.socketPath)"])
        listening.finish(throwing: nil)

        // The accept loop must never be cancelled: NIO drops connections
        // still queued in a cancelled server stream, and an accepted
        // connection dropped that way traps (swift-nio #2813). So it runs
        // in a task of its own, and shutdown (or our cancellation) closes
        // the listener and every connection instead; the loop then serves
        // what was queued, which ends at once, and returns.
        let acceptLoop = Task { await self.acceptConnections(server) }
        await withTaskCancellationOrGracefulShutdownHandler {
            await acceptLoop.value
        } onCancelOrGracefulShutdown: {
            self.connections.closeAll(listener: server.channel)
        }
        logger.info("control socket closed", metadata: ["socket": "\(configuration.socketPath)"])
    }

    private func acceptConnections(_ server: NIOAsyncChannel<Connection, Never>) async {
        do {
            try await server.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            group.addTask { await self.serve(connection) }
                        }
                    } catch {
                        self.logger.debug("accept loop ended: \(error)")
                    }
                }
            }
        } catch {
            logger.debug("listener closed: \(error)")
        }
    }

    // MARK: - Connections

    struct Connection: Sendable {
        var channel: NIOAsyncChannel<LineFrame, ByteBuffer>
        /// nil when the kernel would not say: such a peer may only read.
        var peer: KernelPeerCredentials?
    }

    /// struct ucred from <sys/socket.h>, which Glibc's Swift module leaves
    /// out (it needs _GNU_SOURCE): three 32-bit fields, pid_t, uid_t, gid_t.
    struct KernelPeerCredentials: Sendable {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }

    static let idleHandlerName = "idle-state"

    private func bind() async throws -> NIOAsyncChannel<Connection, Never> {
        let maximumLineLength = configuration.maximumLineLength
        let idleTimeout = configuration.idleTimeout
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 128)
            // A client that sends its request and then shuts down its side
            // (`... | socat - UNIX-CONNECT:...`) still gets its answers.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(unixDomainSocketPath: configuration.socketPath) { channel in
                Self.peerCredentials(of: channel).flatMapThrowing { peer in
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: idleTimeout),
                                                                   name: Self.idleHandlerName)
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleConnectionCloser(),
                        ByteToMessageHandler(LineFrameDecoder(maximumLength: maximumLineLength)),
                    ])
                    let lines = try NIOAsyncChannel<LineFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                    return Connection(channel: lines, peer: peer)
                }
            }
    }

    /// SO_PEERCRED: the peer's pid, uid and gid as of connect().
    private static func peerCredentials(of channel: any Channel) -> EventLoopFuture<KernelPeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let credentials: EventLoopFuture<KernelPeerCredentials> = provider.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
        return credentials.map { Optional($0) }.recover { _ in KernelPeerCredentials?.none }
    }

    private func serve(_ connection: Connection) async {
        let peer = connection.peer.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
            ?? PeerCredentials(pid: 0, uid: uid_t.max, gid: gid_t.max, supplementaryGroups: [])
        let admission = connections.admit(connection.channel.channel, uid: peer.uid,
                                          privileged: handler.policy.mayChange(peer))
        defer { connections.remove(connection.channel.channel) }
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(peer)"
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                switch admission {
                case .admitted: break
                case .shuttingDown: return
                case .refused(let why):
                    logger.warning("control connection refused: \(why)")
                    try await outbound.write(ByteBuffer(bytes: WireCodec.encodeFailure(
                        id: nil, ControlError(.failed, "hostd is busy: \(why)"))))
                    return
                }
                for try await frame in inbound {
                    switch frame {
                    case .line(let line):
                        switch await handler.reply(line.readableBytesView, from: peer) {
                        case .answer(let answer):
                            try await outbound.write(ByteBuffer(bytes: answer))
                        case .stream(let answers):
                            // A watch: quiet is normal, so no idle timeout;
                            // it ends when the peer closes (the write fails).
                            try? await connection.channel.channel.pipeline.removeHandler(name: Self.idleHandlerName)
                            for await answer in answers { try await outbound.write(ByteBuffer(bytes: answer)) }
                            return
                        }
                    case .oversized:
                        logger.notice("control request over \(configuration.maximumLineLength) bytes: disconnecting")
                        try await outbound.write(ByteBuffer(bytes: WireCodec.encodeFailure(id: nil, ControlError(
                            .badRequest, "request longer than \(configuration.maximumLineLength) bytes"))))
                        // End of file after the answer; the decoder drains
                        // (bounded) what the peer still sends, then closes.
                        try await connection.channel.channel.close(mode: .output)
                    }
                }
            }
        } catch {
            // The peer went away or went idle; nothing to answer.
            logger.debug("control connection ended: \(error)")
        }
    }
}

/// Closes a connection on which nothing was read or written for the idle
/// timeout (IdleStateHandler's "all" event).
private final class IdleConnectionCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .all {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
