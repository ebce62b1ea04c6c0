import CHostd
import DriverHostCore
import DrvHostControl
import FoundationEssentials
import NIOConcurrencyHelpers
import Glibc

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
            throw ChildProcess.SpawnError(description: "socketpair: \(String(cString: strerror(errno)))")
        }
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&err) == 0 else {
            close(pair[0]); close(pair[1])
            throw ChildProcess.SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        var listener: Int32 = -1
        if let socketPath {
            listener = chd_listen_unix(socketPath)
            guard listener >= 0 else {
                close(pair[0]); close(pair[1]); close(err[0]); close(err[1])
                throw ChildProcess.SpawnError(description: "cannot listen on \(socketPath): \(String(cString: strerror(-listener)))")
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
            throw ChildProcess.SpawnError(description: "cannot connect to \(socketPath): \(String(cString: strerror(-control)))")
        }
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&err) == 0 else {
            close(control)
            throw ChildProcess.SpawnError(description: "pipe: \(String(cString: strerror(errno)))")
        }
        let hello = Array("adopt\n".utf8)
        let sent = hello.withUnsafeBytes { chd_send_with_fd(control, $0.baseAddress, $0.count, err[1]) }
        close(err[1])
        guard sent == 0 else {
            close(control); close(err[0])
            throw ChildProcess.SpawnError(description: "cannot hand process \(pid) its log pipe: \(String(cString: strerror(-sent)))")
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
        guard line.hasPrefix("exit ") else { return nil }
        return Int32(line.dropFirst(5))
    }

    static func parse(_ line: String) -> Event? {
        if line.hasPrefix("trace ") {
            return TraceLines.parse(trace: line.dropFirst(6)).map { .trace(dropped: $0.dropped, records: $0.records) }
        }
        if line.hasPrefix("durations ") {
            return TraceLines.parse(durations: line.dropFirst(10)).map { .durations($0) }
        }
        let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        switch fields.first {
        case "attached"?: return .attached
        case "pong"? where fields.count == 2:
            return UInt64(fields[1]).map { .pong($0) }
        case "failed"? where fields.count >= 2:
            let rest = fields.dropFirst().joined(separator: " ")
            return LineEscaping.unescape(rest).map { .failed($0) }
        case "device"? where fields.count == 3:
            guard let name = LineEscaping.unescape(fields[2]) else { return nil }
            let device = ClassDevice(kind: String(fields[1]), name: name)
            guard ClassDevice.isWord(device.kind), ClassDevice.isWord(device.name) else { return nil }
            return .classDevice(device)
        case "counters"? where fields.count == 3:
            return parseCounters(kind: fields[1], fields[2]).map { .classCounters(kind: String(fields[1]), $0) }
        case "result"? where fields.count == 3:
            guard let id = LineEscaping.unescape(fields[1]), let text = LineEscaping.unescape(fields[2]) else { return nil }
            return .result(id: id, text: text)
        case "error"? where fields.count == 3:
            guard let id = LineEscaping.unescape(fields[1]), let text = LineEscaping.unescape(fields[2]) else { return nil }
            return .error(id: id, message: text)
        default: return nil
        }
    }

    /// "rx_frames=1 rx_bytes=60 ...": at most ClassCounters.maxCount pairs
    /// of a name of [a-z0-9_] and a decimal value; nil for anything else.
    static func parseCounters(kind: Substring, _ text: Substring) -> [ClassCounter]? {
        guard ClassDevice.isWord(String(kind)) else { return nil }
        let pairs = text.split(separator: " ", omittingEmptySubsequences: false)
        guard pairs.count <= ClassCounters.maxCount else { return nil }
        var counters: [ClassCounter] = []
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), ClassCounters.isName(pair[..<equals]),
                  let value = UInt64(pair[pair.index(after: equals)...]) else { return nil }
            counters.append(ClassCounter(name: String(pair[..<equals]), value: value))
        }
        return counters
    }

    /// Asks for an orderly stop (detach, close, exit 0).
    func requestStop() {
        send("stop")
    }

    /// A heartbeat; the loop answers "pong <n>" between callbacks.
    func ping(_ n: UInt64) {
        send("ping \(n)")
    }

    func requestCall(id: String, command: String, arguments: [String]) -> Bool {
        let fields = ["call", LineEscaping.escape(id), LineEscaping.escape(command)] + arguments.map(LineEscaping.escape)
        return send(fields.joined(separator: " "))
    }

    /// Starts or stops its trace (hostctl trace).
    func setTracing(_ on: Bool) {
        send(on ? "trace on" : "trace off")
    }

    /// Tells a driverhost started with --standby to open the device and
    /// attach, recovering the instance's class device if it has one.
    /// False if it is gone.
    func requestStart(restartCount: UInt32, classDevice: ClassDevice? = nil) -> Bool {
        guard let device = classDevice else { return send("start \(restartCount)") }
        return send("start \(restartCount) \(device.kind) \(LineEscaping.escape(device.name))")
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
            let n = bytes.withUnsafeMutableBytes { Glibc.send(control, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
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
