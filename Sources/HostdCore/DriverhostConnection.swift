import CHostd
import DrvHostControl
import FoundationEssentials
import NIOConcurrencyHelpers
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// One running driverhost as the supervisor sees it: the process (pidfd),
/// its control channel and the read end of its stderr, which the one
/// watcher (ChildWatcher) turns into an ordered stream of events: lines
/// from driverhost (control lines and log lines), then its exit.
///
/// A driverhost outlives hostd: it listens on a unix socket of its own
/// (`socketPath`, made by hostd, passed as --listen-fd) where the next hostd
/// connects to adopt it (init(adopting:)), handing it a new log pipe.
final class DriverhostConnection: @unchecked Sendable {
    enum Event: Sendable {
        case attached
        /// "device <kind> <name>": the class device it serves (before "attached").
        case classDevice(ClassDevice)
        /// "queues <kind> <fd>,...": its descriptors of the class device's
        /// queues, numbers in its own table (taken with takeDescriptor).
        case classQueues(kind: String, fds: [Int32])
        /// "counters <kind> <name>=<value> ...": its class server's counters.
        case classCounters(kind: String, [ClassCounter])
        /// Answer to a heartbeat.
        case pong(UInt64)
        /// Its own reason for the error exit that follows.
        case failed(String)
        /// It broke the channel's bounds and was killed for it (the exit follows).
        case misbehaved(String)
        /// A line driverhost (or its plugin, through log()) wrote to stderr.
        case log(String)
        case result(id: String, text: String)
        case error(id: String, message: String)
        /// "trace <dropped> <record>...": while tracing (Supervisor+Trace).
        case trace(dropped: UInt64, records: [TraceRecord])
        /// "durations ...": sampled callback durations, cumulative.
        case durations(CallbackDurations)
        /// Its control channel reached its end; the exit follows.
        case channelEnded
        case exited(ExitStatus)
    }

    let process: ChildProcess
    let events: AsyncStream<Event>
    /// Where the next hostd connects to adopt this driverhost; nil for a
    /// driverhost started without one. Removed when the process has ended.
    let socketPath: String?
    private let control: Int32
    private let exitNotice = ExitNotice()

    /// Starts a driverhost; with `socketPath`, one that outlives hostd and
    /// listens there for the next.
    convenience init(driverhost: String, arguments: [String], environment: [String: String] = [:],
                     confinement: ChildProcess.Confinement = .init(), socketPath: String? = nil) throws(ChildProcess.SpawnError) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw ChildProcess.SpawnError(description: "\(SystemCallError.last("socketpair"))")
        }
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&err) == 0 else {
            close(pair[0]); close(pair[1])
            throw ChildProcess.SpawnError(description: "\(SystemCallError.last("pipe"))")
        }
        var listener: Int32 = -1
        if let socketPath {
            listener = chd_listen_unix(socketPath)
            guard listener >= 0 else {
                close(pair[0]); close(pair[1]); close(err[0]); close(err[1])
                throw ChildProcess.SpawnError(description: "cannot listen on \(socketPath): \(SystemCallError(-listener, call: "listen"))")
            }
        }
        let process: ChildProcess
        do {
            process = try ChildProcess(path: driverhost,
                                       arguments: arguments + ["--control-fd", "3"] + (socketPath != nil ? ["--listen-fd", "4"] : []),
                                       environment: environment, controlFD: pair[1], listenFD: listener,
                                       survivesHostd: socketPath != nil, stderrFD: err[1], confinement: confinement)
        } catch {
            close(pair[0]); close(pair[1]); close(err[0]); close(err[1])
            if listener >= 0 { close(listener); unlink(socketPath!) }
            throw error
        }
        close(pair[1])
        close(err[1])
        if listener >= 0 { close(listener) }
        self.init(process: process, control: pair[0], stderr: err[0], socketPath: socketPath)
    }

    /// Adopts a driverhost an earlier hostd started: the recorded pid and
    /// start time name it, its socket takes the new control channel, and
    /// the first message hands it a new log pipe for its stderr. Once
    /// connected it says "device" and "attached" again.
    convenience init(adopting process: ChildProcess, socketPath: String) throws(ChildProcess.SpawnError) {
        let pid = process.pid
        let control = chd_connect_unix(socketPath)
        guard control >= 0 else {
            throw ChildProcess.SpawnError(description: "cannot connect to \(socketPath): \(SystemCallError(-control, call: "connect"))")
        }
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&err) == 0 else {
            close(control)
            throw ChildProcess.SpawnError(description: "\(SystemCallError.last("pipe"))")
        }
        let hello = Array((SupervisorMessage.adopt.line + "\n").utf8)
        let sent = hello.withUnsafeBytes { chd_send_with_fd(control, $0.baseAddress, $0.count, err[1]) }
        close(err[1])
        guard sent == 0 else {
            close(control); close(err[0])
            throw ChildProcess.SpawnError(description: "cannot hand process \(pid) its log pipe: \(SystemCallError(-sent, call: "sendmsg"))")
        }
        self.init(process: process, control: control, stderr: err[0], socketPath: socketPath)
    }

    private init(process: ChildProcess, control: Int32, stderr: Int32, socketPath: String?,
                 watcher: ChildWatcher = .shared) {
        self.process = process
        self.control = control
        self.socketPath = socketPath
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        events = stream
        // The watcher reads its own copy of the channel: this object may go
        // (closing `control`) while the watcher still drains the input.
        let input = DriverhostInput(process: process, control: dup(control), stderr: stderr, socketPath: socketPath,
                                    continuation: continuation, exitNotice: exitNotice)
        input.start(on: watcher)
    }

    deinit {
        close(control)
    }

    /// "exit <code>": what it is about to exit with (kept by the process,
    /// for when hostd cannot wait for it: an adopted driverhost).
    static func exitCode(_ line: String) -> Int32? {
        guard case .exit(let code)? = DriverhostMessage(line: line) else { return nil }
        return code
    }

    static func parse(_ line: String) -> Event? {
        switch DriverhostMessage(line: line) {
        case .attached?: .attached
        case .device(let device)?: .classDevice(device)
        case .queues(let kind, let fds)?: .classQueues(kind: kind, fds: fds)
        case .counters(let kind, let counters)?: .classCounters(kind: kind, counters)
        case .pong(let n)?: .pong(n)
        case .failed(let message)?: .failed(message)
        case .result(let id, let text)?: .result(id: id, text: text)
        case .error(let id, let message)?: .error(id: id, message: message)
        case .trace(let dropped, let records)?: .trace(dropped: dropped, records: records)
        case .durations(let durations)?: .durations(durations)
        case .exit?, nil: nil
        }
    }

    /// Asks for an orderly stop (detach, close, exit 0).
    func requestStop() {
        send(SupervisorMessage.stop.line)
    }

    /// A heartbeat; the loop answers "pong <n>" between callbacks.
    func ping(_ n: UInt64) {
        send(SupervisorMessage.ping(n).line)
    }

    func requestCall(id: String, command: String, arguments: [String]) -> Bool {
        send(SupervisorMessage.call(id: id, command: command, arguments: arguments).line)
    }

    /// Starts or stops its trace (hostctl trace).
    func setTracing(_ on: Bool) {
        send(SupervisorMessage.trace(on).line)
    }

    /// Tells a driverhost started with --standby to open the device and
    /// attach, recovering the instance's class device if it has one.
    /// False if it is gone.
    /// `queues` ride along (SCM_RIGHTS): the class device's queues hostd
    /// kept, for it to adopt.
    func requestStart(restartCount: UInt32, classDevice: ClassDevice? = nil, queues: [Int32] = [],
                      carrierGraceMs: UInt32? = nil) -> Bool {
        let line = SupervisorMessage.start(restartCount: restartCount, classDevice: classDevice, carrierGraceMs: carrierGraceMs).line
        guard !queues.isEmpty else { return send(line) }
        let bytes = Array((line + "\n").utf8)
        return chd_send_with_fds(control, bytes, bytes.count, queues, Int32(queues.count)) == 0
    }

    /// A copy of one of its descriptors (pidfd_getfd: the same open file),
    /// or -errno.
    func takeDescriptor(_ fd: Int32) -> Int32 {
        chd_pidfd_getfd(process.pidfd, fd)
    }

    /// Returns once the process has exited (at once if it already has).
    func waitForExit() async -> ExitStatus {
        await exitNotice.wait()
    }

    @discardableResult
    private func send(_ line: String) -> Bool {
        var bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            guard let n = try? systemCall("send", {
                bytes.withUnsafeMutableBytes { Glibc.send(control, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            }), n > 0 else { return false }
            offset += n
        }
        return true
    }
}

/// The exit status, once known, for whoever waits for it. Apart from the
/// connection so that the watcher does not keep the connection (whose
/// deinit closes the control socket) alive.
final class ExitNotice: @unchecked Sendable {
    private let lock = NIOLock()
    private var status: ExitStatus?
    private var waiters: [CheckedContinuation<ExitStatus, Never>] = []

    func wait() async -> ExitStatus {
        await withCheckedContinuation { waiter in
            lock.lock()
            if let status {
                lock.unlock()
                waiter.resume(returning: status)
            } else {
                waiters.append(waiter)
                lock.unlock()
            }
        }
    }

    func post(_ status: ExitStatus) {
        lock.lock()
        self.status = status
        let woken = waiters
        waiters.removeAll()
        lock.unlock()
        for waiter in woken { waiter.resume(returning: status) }
    }
}

/// What a driverhost may send on its control channel: lines of at most
/// maxLine bytes, and no more than maxBytesPerSecond. Its legitimate
/// traffic (notices, call results, heartbeat answers) is far below both.
struct InputBudget {
    static let maxLine = 64 * 1024
    static let maxBytesPerSecond = 1 << 20
    private var windowStart = ContinuousClock.now
    private var bytesInWindow = 0

    /// nil while within bounds; else why not. Both of a child's streams
    /// share one budget.
    mutating func take(bytes: Int, pending: Int, from stream: String = "control channel",
                       now: ContinuousClock.Instant = .now) -> String? {
        if pending > InputBudget.maxLine {
            return "sent a line longer than \(InputBudget.maxLine) bytes on its \(stream)"
        }
        if now - windowStart >= .seconds(1) {
            windowStart = now
            bytesInWindow = 0
        }
        bytesInWindow += bytes
        if bytesInWindow > InputBudget.maxBytesPerSecond {
            return "flooded hostd (over \(InputBudget.maxBytesPerSecond) bytes within a second, last on its \(stream))"
        }
        return nil
    }
}
