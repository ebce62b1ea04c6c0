import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// Why the loop stopped.
public enum StopReason: Equatable, Sendable {
    case signal(Int32)
    case controlStop
    case controlClosed
    /// An ERROR record: not a reason to detach, a reason to let go at once.
    case deviceError(DeviceErrorReport)
}

/// The interrupt loop: one epoll over the device's event descriptor, the
/// signalfd, the supervisor's control descriptor and the plugin's timerfds.
/// Device events are read in batches and handed to interrupt() one by one,
/// in order. epoll_wait is the only place it blocks.
///
/// wait_events (a plugin waiting inside attach or a command) blocks on the
/// same epoll set. A signal or control message that arrives then is read and
/// remembered; the loop stops once the plugin is back. (A second epoll set
/// holding the device too would double the kernel's wake-up work for every
/// interrupt: each set the descriptor is in gets a callback.)
final class EventLoop {
    private enum Token {
        static let device: UInt64 = 1
        static let signals: UInt64 = 2
        static let control: UInt64 = 3
        static let traceFlush: UInt64 = 4
        static let listener: UInt64 = 5
        static let firstTimer: UInt64 = 16
        static let firstClassSource: UInt64 = 1 << 32
    }

    static let batch = 64
    // The instance owns the loop and outlives it.
    private unowned(unsafe) let instance: Instance
    private let epoll: Epoll
    private unowned(unsafe) let device: DeviceBackend
    private let signals: Descriptor?
    private let control: ControlChannel?
    private let ready: UnsafeMutablePointer<cdh_ready>
    private let nestedReady: UnsafeMutablePointer<cdh_ready>
    private let events: UnsafeMutablePointer<dh_event>
    private var stopReason: StopReason?
    /// Calls from the supervisor, run by run() between events, never from
    /// inside a nested wait (a command waiting for its interrupt).
    private var queuedCalls: [ControlChannel.CallRequest] = []
    /// Descriptors a device class serves (io_uring rings, TAP queues), by
    /// token; each handler answers how many plugin callbacks it made.
    private var classSources: [UInt64: () -> UInt64] = [:]
    private var classTokens: [Int32: UInt64] = [:]
    private var nextClassToken = Token.firstClassSource
    /// Work a host function asked for from inside a plugin callback, run
    /// once the callback is over: the plugin is never called back nested.
    private var deferred: [() -> Void] = []
    /// Runs after each batch of ready descriptors, in the main loop and in
    /// nested waits: a device class submits what the batch queued (requests
    /// completed from interrupt(), say) in one system call.
    var afterBatch: (() -> Void)?

    /// The main loop's epoll_waits: with a device class's frame or request
    /// counts, the system calls its batches cost.
    private(set) var waits: UInt64 = 0

    /// Set by announceAttached: a supervisor that connects later is told again.
    private var announced = false

    init(instance: Instance, signals: Descriptor?, control: ControlChannel?) throws(SystemCallError) {
        self.instance = instance
        self.signals = signals
        self.control = control
        device = instance.device
        epoll = try Epoll()
        ready = .allocate(capacity: Epoll.maxReady)
        nestedReady = .allocate(capacity: Epoll.maxReady)
        events = .allocate(capacity: EventLoop.batch)
        let deviceFD = instance.device.eventDescriptor
        try epoll.add(deviceFD, token: Token.device)
        if let signals { try epoll.add(signals.raw, token: Token.signals) }
        if let control {
            if control.descriptorNumber >= 0 { try epoll.add(control.descriptorNumber, token: Token.control) }
            if let listener = control.listener { try epoll.add(listener.raw, token: Token.listener) }
        }
        // Callback durations go to hostd with the heartbeat's answer.
        self.control?.afterPong = { [unowned(unsafe) instance, unowned(unsafe) channel = self.control!] in
            for line in instance.timing.report() { channel.send(line) }
        }
    }

    /// The trace's flush timer (Trace.start).
    func addTraceTimer(_ fd: Int32) throws(SystemCallError) {
        try epoll.add(fd, token: Token.traceFlush)
    }

    deinit {
        ready.deallocate()
        nestedReady.deallocate()
        events.deallocate()
    }

    func addTimer(_ timer: Descriptor, id: UInt32) throws(SystemCallError) {
        try epoll.add(timer.raw, token: Token.firstTimer + UInt64(id))
    }

    /// Watches a device class's descriptor; `handler` runs on the loop
    /// thread whenever it is readable and answers how many plugin callbacks
    /// it made. Returns the token for pause/resume.
    @discardableResult
    func addClassSource(_ fd: Int32, handler: @escaping () -> UInt64) throws(SystemCallError) -> UInt64 {
        let token = nextClassToken
        try epoll.add(fd, token: token)
        nextClassToken += 1
        classSources[token] = handler
        classTokens[fd] = token
        return token
    }

    /// The same for a handler that counts no callbacks.
    @discardableResult
    func addClassSource(_ fd: Int32, readable: @escaping () -> Void) throws(SystemCallError) -> UInt64 {
        try addClassSource(fd) { () -> UInt64 in
            readable()
            return 0
        }
    }

    func removeClassSource(_ fd: Int32) {
        guard let token = classTokens.removeValue(forKey: fd) else { return }
        try? epoll.remove(fd)
        classSources[token] = nil
    }

    /// Stops watching a class descriptor for a while (backpressure);
    /// resumeClassSource watches it again under the same token.
    func pauseClassSource(_ fd: Int32) throws(SystemCallError) {
        try epoll.remove(fd)
    }

    func resumeClassSource(_ fd: Int32, token: UInt64) throws(SystemCallError) {
        try epoll.add(fd, token: token)
    }

    /// Runs `work` after the callback now running has returned.
    func runSoon(_ work: @escaping () -> Void) {
        deferred.append(work)
    }

    private func runDeferred() {
        while stopReason == nil, !deferred.isEmpty {
            deferred.removeFirst()()
        }
    }

    var hasSupervisor: Bool { control != nil }

    /// A notice for the supervisor (see ControlChannel); none without one.
    func tellSupervisor(_ line: String) {
        control?.send(line)
    }

    /// Tells the supervisor the instance is up (no-op without a control fd),
    /// and first which class device it serves, if any.
    func announceAttached() {
        announced = true
        if let device = instance.classDevice {
            control?.send(DriverhostMessage.device(device))
            if let queues = instance.classServer?.queueDescriptors, !queues.isEmpty {
                control?.send(DriverhostMessage.queues(kind: device.kind, fds: queues))
            }
        }
        control?.send(DriverhostMessage.attached(restartCount: instance.identity.restartCount))
    }

    /// Runs until a termination signal, a control "stop", or the control
    /// channel closing; `limit` (tests, benchmarks) also stops it after that
    /// many device events. `started` runs once, after the first round, in
    /// which the loop does not wait: whatever was ready when it began (a
    /// plugin's timer set to fire at once, as the e1000e plugin starts its
    /// device) has been handled by then.
    func run(stopAfterEvents limit: UInt64 = .max, started: (() -> Void)? = nil) throws(SystemCallError) -> StopReason? {
        var delivered: UInt64 = 0
        var started = started
        while stopReason == nil && delivered < limit {
            runDeferred()
            let count = try epoll.wait(into: ready, timeoutMs: started == nil ? -1 : 0)
            waits &+= 1
            for i in 0..<count {
                delivered += try dispatch(ready[i].token)
            }
            if let first = started {
                // Before the calls that came with the start: the supervisor
                // hears "attached" before their results.
                started = nil
                runDeferred()
                first()
            }
            runQueuedCalls()
            afterBatch?()
            control?.flush()
        }
        return stopReason
    }

    private func runQueuedCalls() {
        guard let control else { return }
        while stopReason == nil, !queuedCalls.isEmpty {
            let request = queuedCalls.removeFirst()
            do {
                let result = try instance.call(request.command, arguments: request.arguments)
                control.answer(request.id, result: result.json)
            } catch {
                control.answer(request.id, error: error.message)
            }
        }
    }

    /// Why the loop should stop, once the plugin is back in the main loop.
    var pendingStop: StopReason? { stopReason }

    /// wait_events: blocks until a batch made at least one plugin callback,
    /// or timeoutNs passed, or the loop must stop; returns the number of
    /// callbacks made. Wake-ups that call the plugin back for nothing (a
    /// heartbeat, the trace's flush timer, a class source's completions
    /// that found no work) wait on for the rest of the time: the plugin
    /// hears DH_ERR_TIMEOUT only when its time is up.
    func waitNested(timeoutNs: UInt64) throws(SystemCallError) -> Int {
        let start = cdh_monotonic_ns()
        var elapsed: UInt64 = 0
        repeat {
            let count = try instance.watchdog.paused { () throws(SystemCallError) in
                try epoll.wait(into: nestedReady, timeoutMs: EventLoop.wholeMs(timeoutNs - elapsed))
            }
            var delivered = 0
            for i in 0..<count {
                delivered += Int(try dispatch(nestedReady[i].token))
            }
            afterBatch?()
            if delivered > 0 || stopReason != nil { return delivered }
            elapsed = cdh_monotonic_ns() &- start
        } while elapsed < timeoutNs
        return 0
    }

    /// Nanoseconds as epoll's milliseconds: rounded up without overflowing,
    /// then saturated at Int32.max ms (about 24.8 days, epoll's limit): a
    /// plugin's UINT64_MAX means "a very long time", never a trap.
    static func wholeMs(_ ns: UInt64) -> Int32 {
        Int32(clamping: ns / 1_000_000 + (ns % 1_000_000 == 0 ? 0 : 1))
    }

    /// Reads and delivers while reads come back full, at most `drainRounds`
    /// reads. A read that returned less than asked for took all there was
    /// (drvproxy hands over every queued event): another read would mostly
    /// find nothing, one system call per interrupt spent on learning that.
    /// An event queued meanwhile (one interrupt() itself provoked) keeps
    /// the descriptor readable for the next epoll_wait. The bound keeps
    /// signals, the control channel and timers from starving behind a busy
    /// device.
    static let drainRounds = 16

    @inline(__always)
    private func drainDevice() throws(SystemCallError) -> UInt64 {
        // Strong locals: reading the unowned(unsafe) properties inside the
        // loop costs a retain and a release per event.
        let device = self.device, instance = self.instance
        var delivered: UInt64 = 0
        for _ in 0..<EventLoop.drainRounds {
            guard !hasDeviceError else { break }
            let n = try device.readEvents(into: events, capacity: EventLoop.batch)
            if n == 0 { break }
            for i in 0..<n {
                if _slowPath(events[i].flags & DeviceErrorReport.flag != 0) {
                    deviceFailed(events[i])
                    return delivered + UInt64(i)
                }
                instance.deliver(events + i)
            }
            delivered += UInt64(n)
            if n < EventLoop.batch { break }
        }
        return delivered
    }

    /// Set once an ERROR record was read: nothing after it reaches the
    /// plugin, and a nested wait_events answers DH_ERR_IO.
    private(set) var hasDeviceError = false

    /// The device is in an unknown state: stop delivering, stop the loop,
    /// and let driverhost exit with ExitCode.deviceError (it overrides any
    /// other reason to stop: the exit code is what the supervisor acts on).
    private func deviceFailed(_ event: dh_event) {
        hasDeviceError = true
        stopReason = .deviceError(DeviceErrorReport(event))
    }

    @inline(__always)
    private func dispatch(_ token: UInt64) throws(SystemCallError) -> UInt64 {
        switch token {
        case Token.device:
            return try drainDevice()
        case Token.signals:
            if let signals {
                let signal = cdh_signalfd_read(signals.raw)
                if signal > 0, !hasDeviceError { stopReason = .signal(signal) }
            }
            return 0
        case Token.control:
            guard let control else { return 0 }
            for message in control.receive() {
                switch message {
                case .stop: if !hasDeviceError { stopReason = .controlStop }
                case .call(let request): queuedCalls.append(request)
                case .trace(let on): instance.setTracing(on)
                case .closed:
                    // End of file stays readable: stop watching it.
                    try? epoll.remove(control.descriptorNumber)
                    control.disconnect()
                    queuedCalls.removeAll()
                    if control.acceptsSupervisors {
                        instance.log(.warning, "the supervisor is gone; serving on until the next one connects")
                    } else if !hasDeviceError {
                        stopReason = .controlClosed
                    }
                }
            }
            return 0
        case Token.traceFlush:
            instance.trace.flush(to: control)
            return 0
        case Token.listener:
            guard let control else { return 0 }
            let old = control.descriptorNumber
            if old >= 0 { try? epoll.remove(old) }
            guard let fd = control.acceptSupervisor() else {
                // Not taken (or not trusted): the old connection goes on.
                if old >= 0, control.descriptorNumber == old { try epoll.add(old, token: Token.control) }
                return 0
            }
            // Answers meant for the previous supervisor are not the new one's,
            // nor is its trace: the new one asks again if anyone follows.
            queuedCalls.removeAll()
            instance.setTracing(false)
            try epoll.add(fd, token: Token.control)
            instance.log(.info, "a supervisor connected; telling it the instance's state")
            if announced { announceAttached() }
            return 0
        case Token.firstClassSource...:
            guard !hasDeviceError else { return 0 }
            return classSources[token]?() ?? 0
        default:
            let id = UInt32(token - Token.firstTimer)
            guard let timer = instance.timers[Int(id)], try timer.readCounter() > 0 else { return 0 }
            instance.timerFired(id)
            return 1
        }
    }
}
