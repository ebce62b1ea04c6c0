import CDevSim
import CDrvHost
import DriverHostCore
import Glibc
import DrvHostSystem

/// devsim's one thread: an epoll loop over each function's listening
/// socket, the clients' connections, a timerfd for the models' timed work
/// and a signalfd for SIGTERM/SIGINT. Requests are answered in order, one at
/// a time, so a function's state needs no locks (like drvproxy's dp->lock).
public final class DevSimServer {
    public let directory: String
    public let functions: [SimulatedFunction]
    private let epoll: Epoll
    private let timer: Descriptor
    private var listeners: [Descriptor] = []
    private var connections: [Int32: Connection] = [:]
    private let log: (String) -> Void
    private var buffer = [UInt8](repeating: 0, count: Int(DEVSIM_MAX_MESSAGE))

    private enum Token {
        static let signals: UInt64 = 1
        static let timer: UInt64 = 2
        static let firstListener: UInt64 = 1 << 32   // + function index
        static let firstConnection: UInt64 = 1 << 40 // + descriptor number
    }

    /// Binds `<directory>/<name>.sock` for every function.
    public init(directory: String, functions: [SimulatedFunction], log: @escaping (String) -> Void) throws(SystemCallError) {
        self.directory = directory
        self.functions = functions
        self.log = log
        epoll = try Epoll()
        timer = Descriptor(taking: try systemCall("timerfd_create") { cdh_timerfd_create() })
        try epoll.add(timer.raw, token: Token.timer)
        for (index, function) in functions.enumerated() {
            let path = DevSimServer.socketPath(directory: directory, name: function.name)
            let listener = Descriptor(taking: try systemCall("listen on \(path)") { cds_listen(path) })
            try epoll.add(listener.raw, token: Token.firstListener + UInt64(index))
            listeners.append(listener)
        }
    }

    public static func socketPath(directory: String, name: String) -> String {
        "\(directory)/\(name).sock"
    }

    /// Serves until SIGTERM/SIGINT arrives on `signals`; then removes the
    /// sockets. Owners still connected see their connection close.
    public func run(signals: Descriptor) throws(SystemCallError) {
        try epoll.add(signals.raw, token: Token.signals)
        let ready = UnsafeMutablePointer<cdh_ready>.allocate(capacity: Epoll.maxReady)
        defer { ready.deallocate() }
        running: while true {
            let count = try epoll.wait(into: ready, timeoutMs: -1)
            for i in 0..<count {
                let token = ready[i].token
                switch token {
                case Token.signals:
                    let signal = cdh_signalfd_read(signals.raw)
                    if signal > 0 {
                        log("signal \(signal): stopping")
                        break running
                    }
                case Token.timer:
                    _ = try timer.readCounter()
                    let now = cdh_monotonic_ns()
                    for function in functions { function.advance(to: now) }
                case Token.firstConnection...:
                    serve(Int32(token - Token.firstConnection))
                default:
                    accept(functions[Int(token - Token.firstListener)], listener: listeners[Int(token - Token.firstListener)])
                }
            }
            try armTimer()
        }
        shutDown()
    }

    private func accept(_ function: SimulatedFunction, listener: Descriptor) {
        let fd = cds_accept(listener.raw)
        guard fd >= 0 else { return }
        do {
            try epoll.add(fd, token: Token.firstConnection + UInt64(fd))
            connections[fd] = Connection(socket: Descriptor(taking: fd), function: function)
        } catch {
            Glibc.close(fd)
        }
    }

    private func serve(_ fd: Int32) {
        guard let connection = connections[fd] else { return }
        var passed: Int32 = -1
        let length = buffer.withUnsafeMutableBytes { cds_recv(fd, $0.baseAddress, $0.count, &passed) }
        if passed >= 0 { Glibc.close(passed) }  // clients send no descriptors
        if !connection.isOwner { reapDeadOwner(of: connection.function) }
        let keep = length > 0 && buffer.withUnsafeBytes {
            connection.serve(UnsafeRawBufferPointer(rebasing: $0[..<length]))
        }
        if !keep { drop(fd, connection) }
    }

    /// The kernel runs the release sequence inside the dying owner's exit,
    /// before its parent can see it gone; devsim hears of it through the
    /// connection instead. So before answering anyone else about a
    /// function (a new owner, an observer), finish an owner that has hung
    /// up: whoever saw the owner exit then sees the release done.
    private func reapDeadOwner(of function: SimulatedFunction) {
        for (fd, connection) in connections where connection.isOwner && connection.function === function {
            if cds_peer_hung_up(fd) == 1 { drop(fd, connection) }
        }
    }

    private func drop(_ fd: Int32, _ connection: Connection) {
        try? epoll.remove(fd)
        connections[fd] = nil
        connection.closed()
    }

    /// The timerfd fires at the earliest deadline any model has.
    private func armTimer() throws(SystemCallError) {
        let deadline = functions.compactMap(\.nextDeadline).min()
        let now = cdh_monotonic_ns()
        let delay = deadline.map { $0 > now ? $0 - now : 1 } ?? 0
        _ = try systemCall("timerfd_settime") { cdh_timerfd_set(timer.raw, delay, 0) }
    }

    private func shutDown() {
        for (fd, connection) in connections { drop(fd, connection) }
        for function in functions {
            unlink(DevSimServer.socketPath(directory: directory, name: function.name))
        }
    }
}
