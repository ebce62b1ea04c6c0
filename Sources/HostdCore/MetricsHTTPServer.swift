import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// hostd.toml metrics_listen: GET /metrics answers the instances' metrics in
/// Prometheus' text format (what `hostctl metrics` prints); every other
/// request a 404 or 405. Read-only and bounded (NIO's HTTP parser limits
/// the request head), it is served to whoever can reach the address: bind
/// it to 127.0.0.1 unless the network is trusted.
public final class MetricsHTTPServer: Service {
    private let host: String
    private let port: Int
    private let render: @Sendable () async -> String
    private let logger: Logger

    public init(listen: HostdConfig.ListenAddress, logger: Logger, render: @escaping @Sendable () async -> String) {
        self.host = listen.host
        self.port = listen.port
        self.render = render
        self.logger = logger
    }

    public func run() async throws {
        let render = self.render
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        logger.info("metrics served over HTTP", metadata: ["listen": "\(host):\(port)", "path": "/metrics"])
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await Self.serve(connection, render: render) }
                    }
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
    }

    private static func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
                              render: @Sendable () async -> String) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let request): head = request
                case .body: continue
                case .end:
                    guard let request = head else { return }
                    let (status, body): (HTTPResponseStatus, String) =
                        request.method != .GET ? (.methodNotAllowed, "only GET\n")
                        : request.uri != "/metrics" ? (.notFound, "try /metrics\n")
                        : (.ok, await render())
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4" : "text/plain")
                    headers.add(name: "Content-Length", value: "\(body.utf8.count)")
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }
}
