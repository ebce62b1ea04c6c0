import Glibc

/// One instance's life as a pure value: told what happened (an event, with
/// the time it happened on hostd's monotonic clock in milliseconds), it
/// moves to its next state and answers what the supervisor must do
/// (effects). It reads no clock, sleeps, spawns or signals nothing itself,
/// so every transition can be driven by tests with made-up times; the
/// supervisor applies the effects and feeds the watcher's events in.
///
/// Deadlines (attach, heartbeat, release, stop, backoff) are kept here too:
/// `nextDeadline` is when the watcher's timer must deliver `.tick` next.
struct InstanceMachine: Equatable, Sendable {
    enum State: Equatable, Sendable {
        /// Known, no driverhost yet.
        case idle
        /// A new driverhost runs; its "attached" is awaited.
        case starting(since: Int64)
        /// The previous hostd's driverhost answered on its socket; it says
        /// "attached" again once its loop runs.
        case adopted(since: Int64)
        case running
        /// Its driverhost ended; the kernel's release of the device is
        /// awaited before another may open it, then `delayMs` of backoff.
        case releasing(since: Int64, delayMs: Int, counted: Bool)
        case backoff(until: Int64, counted: Bool)
        /// Not restarted until the operator asks.
        case failed(String)
        /// Asked to stop ("stop", SIGKILL at the deadline); `then`: what
        /// follows its exit.
        case unloading(since: Int64, then: AfterStop)
        case unloaded
    }

    enum AfterStop: Equatable, Sendable {
        case remove
        /// hostctl restart: counted as a restart.
        case restart
        /// A new plugin file: not counted.
        case upgrade
    }

    enum Event: Equatable, Sendable {
        /// Load (by the operator, autoload, or a plugin's arrival).
        case startRequested
        case spawnFailed(String)
        /// The recorded driverhost of a previous hostd was reconnected.
        case adopted
        /// The recorded driverhost is dead or out of reach (killed): the
        /// kernel released the device as it died; recovered as a crash.
        case adoptionFailed(String)
        case attached
        case heartbeatAnswered
        /// Its own reason for the error exit that follows ("failed ...").
        case failedLine(String)
        /// hostd must end it: a memory limit, a flood of its channel.
        case limitHit(String)
        /// Its control channel reached its end. Not acted on: the exit
        /// (its status decides what follows) and the release come after.
        case channelEnded
        case exited(ExitStatus, Observed)
        /// drvproxy's releases counter moved past its value at start.
        case released
        /// Time passed: deadlines are checked.
        case tick
        case unloadRequested
        /// hostctl restart: a fresh start with the crash history cleared.
        case restartRequested
        /// The plugin file was replaced by a version that still drives the
        /// device: stop, then start on the new file, not counted as a
        /// crash; the history and the class device go on.
        case pluginFileChanged
        /// What the exited driverhost left in its cgroup (a plugin's child
        /// holding the device) was killed: the last exit says so.
        case leftoversKilled(String)
    }

    /// What the supervisor saw about an exit besides its status.
    struct Observed: Equatable, Sendable {
        /// The cgroup's oom_kill count grew during this driverhost.
        var oomKilled = false
        /// The plugin file is not the one this driverhost mapped (an
        /// in-place overwrite kills it with SIGBUS).
        var pluginReplaced = false
    }

    enum Effect: Equatable, Sendable {
        /// Start a driverhost (the standby, or a new process).
        case spawn(restartCount: UInt32)
        /// SIGKILL the current driverhost; its exit follows as an event.
        case kill(String)
        /// "stop" on its control channel.
        case requestStop
        case ping(UInt64)
        /// Deliver `.released` when drvproxy's counter moves (POLLPRI on
        /// sysfs `releases`); the release deadline is this machine's.
        case awaitRelease
        /// The instance's restart count or last exit changed: persist them.
        case saveHistory
        /// The exited driverhost's record, and what it left in its cgroup, go.
        case cleanUpDriverhost
        /// Nobody will drive the class device again: end it.
        case endClassDevice
        /// Unloaded: forget the instance (cgroup, logs, binding).
        case remove
        case publish
    }

    struct Bounds: Equatable, Sendable {
        /// A new driverhost must attach within this (max_attach_ms + liveness).
        var attachMs: Int
        /// A heartbeat must be answered within this; one is sent every fifth.
        var livenessMs: Int
        var releaseWaitMs: Int
        /// After "stop", SIGKILL.
        var stopMs: Int = 5000
        /// Where the memory limit is described in a reason.
        var memoryLimit = "memory_max_mb"
    }

    let device: String
    var bounds: Bounds
    private(set) var state: State = .idle
    private(set) var policy: RestartPolicy
    private(set) var restarts: UInt32
    private(set) var lastExit: String?
    private(set) var failure: String?
    /// Why the current driverhost is ending, when more is known than its status.
    private(set) var endReason: String?
    private var lastAnswer: Int64 = 0
    private var lastPing: Int64 = 0
    private var pings: UInt64 = 0
    /// A kill was asked for this driverhost: not again at every tick.
    private var killSent = false
    /// lastExit is the newest driverhost's end (not an orderly stop's,
    /// which leaves it as it was): what it left behind may be added to it.
    private var lastExitIsNewest = false

    init(device: String, bounds: Bounds, limits: RestartPolicy.Limits, restarts: UInt32 = 0, lastExit: String? = nil) {
        self.device = device
        self.bounds = bounds
        policy = RestartPolicy(limits)
        self.restarts = restarts
        self.lastExit = lastExit
    }

    /// A driverhost of this instance is alive (and hostd's to watch).
    var hasDriverhost: Bool {
        switch state {
        case .starting, .adopted, .running, .unloading: true
        default: false
        }
    }

    /// Unloaded, or being unloaded for good.
    var isLeaving: Bool {
        switch state {
        case .unloading(_, .remove), .unloaded: true
        default: false
        }
    }


    /// When `.tick` must come next; nil: no deadline is pending.
    var nextDeadline: Int64? {
        // Killed: its exit is awaited, with no deadline (SIGKILL ends even
        // a stopped process).
        if killSent && hasDriverhost { return nil }
        return switch state {
        case .starting(let since): since + Int64(bounds.attachMs)
        case .adopted(let since): since + Int64(bounds.livenessMs)
        case .running: min(lastAnswer + Int64(bounds.livenessMs), lastPing + Int64(bounds.livenessMs / 5))
        case .releasing(let since, _, _): since + Int64(bounds.releaseWaitMs)
        case .backoff(let until, _): until
        case .unloading(let since, _): since + Int64(bounds.stopMs)
        case .idle, .failed, .unloaded: nil
        }
    }

    mutating func handle(_ event: Event, at now: Int64) -> [Effect] {
        if case .exited = event { lastExitIsNewest = false }
        switch (event, state) {
        case (.leftoversKilled(let what), _):
            guard lastExitIsNewest, let exit = lastExit else { return [] }
            lastExit = "\(exit); \(what)"
            return [.saveHistory, .publish]
        case (.unloadRequested, .unloaded), (.unloadRequested, .unloading(_, .remove)):
            return []
        case (.unloadRequested, .unloading(let since, _)):
            state = .unloading(since: since, then: .remove)
            return []
        case (.unloadRequested, _) where hasDriverhost:
            state = .unloading(since: now, then: .remove)
            return [.requestStop, .publish]
        case (.unloadRequested, _):
            // Nothing runs (idle, recovering, failed): nothing to wait for.
            state = .unloaded
            return [.endClassDevice, .remove, .publish]

        case (.startRequested, .idle), (.startRequested, .unloaded):
            policy.reset()
            return start(at: now)
        case (.restartRequested, .failed), (.restartRequested, .idle):
            policy.reset()
            failure = nil
            restarts += 1
            return start(at: now) + [.saveHistory]
        case (.restartRequested, .releasing), (.restartRequested, .backoff):
            policy.reset()
            state = .releasing(since: now, delayMs: 0, counted: true)
            return [.awaitRelease, .publish]
        case (.restartRequested, _) where hasDriverhost:
            policy.reset()
            state = .unloading(since: now, then: .restart)
            return [.requestStop, .publish]
        case (.pluginFileChanged, .starting), (.pluginFileChanged, .adopted), (.pluginFileChanged, .running):
            state = .unloading(since: now, then: .upgrade)
            return [.requestStop, .publish]
        case (.pluginFileChanged, .failed):
            // What failed was the old version: the new one gets a fresh
            // start, not counted. (Recovering or idle: the next start takes
            // the new file anyway.)
            policy.reset()
            return start(at: now)

        case (.spawnFailed(let why), .starting), (.spawnFailed(let why), .idle):
            return fail(why)
        case (.adopted, .idle):
            state = .adopted(since: now)
            resetDriverhost(at: now)
            return [.publish]
        case (.adoptionFailed(let why), .idle):
            endReason = why
            state = .running  // as if it had run: the exit path decides
            return ended(.unknown, Observed(), at: now)

        case (.attached, .starting), (.attached, .adopted):
            state = .running
            lastAnswer = now
            lastPing = now
            return [.publish]
        case (.heartbeatAnswered, _) where hasDriverhost:
            lastAnswer = now
            return []
        case (.failedLine(let message), _) where hasDriverhost:
            endReason = endReason ?? message
            return []
        case (.limitHit(let why), _) where hasDriverhost:
            return kill(because: why)
        case (.channelEnded, _):
            return []

        case (.exited, .unloading(_, let then)):
            // Asked to stop: its exit is no crash and no news for lastExit.
            if then == .remove {
                state = .unloaded
                return [.cleanUpDriverhost, .endClassDevice, .remove, .publish]
            }
            state = .releasing(since: now, delayMs: 0, counted: then == .restart)
            return [.cleanUpDriverhost, .awaitRelease, .publish]
        case (.exited(let status, let observed), _) where hasDriverhost:
            return ended(status, observed, at: now)

        case (.released, .releasing(_, let delay, let counted)):
            if delay > 0 {
                state = .backoff(until: now + Int64(delay), counted: counted)
                return []
            }
            return restart(counted: counted, at: now)
        case (.tick, _):
            return deadlines(at: now)
        default:
            // Late or stray: a second exit, an event of a driverhost that
            // is no longer the instance's, a release nobody waits for.
            return []
        }
    }

    private mutating func start(at now: Int64) -> [Effect] {
        state = .starting(since: now)
        failure = nil
        resetDriverhost(at: now)
        return [.spawn(restartCount: restarts), .publish]
    }

    private mutating func resetDriverhost(at now: Int64) {
        endReason = nil
        killSent = false
        lastAnswer = now
        lastPing = now
    }

    /// SIGHUP's new restart limits: the crash count starts afresh.
    mutating func replace(limits: RestartPolicy.Limits) {
        policy = RestartPolicy(limits)
    }

    /// The history (the last exit, the count) is saved after the spawn:
    /// once per crash, and never in the way of the recovery.
    private mutating func restart(counted: Bool, at now: Int64) -> [Effect] {
        if counted { restarts += 1 }
        return start(at: now) + [.saveHistory]
    }

    private mutating func kill(because why: String) -> [Effect] {
        endReason = "killed by hostd: it \(why)"
        guard !killSent else { return [] }
        killSent = true
        return [.kill(why)]
    }

    private mutating func fail(_ reason: String) -> [Effect] {
        state = .failed(reason)
        failure = reason
        return [.saveHistory, .endClassDevice, .publish]
    }

    /// The driverhost ended on its own (or by hostd's kill): crash, upgrade,
    /// permanent failure or too many.
    private mutating func ended(_ status: ExitStatus, _ observed: Observed, at now: Int64) -> [Effect] {
        if endReason == nil, observed.oomKilled, status == .signaled(SIGKILL) {
            endReason = "killed by the kernel's OOM killer at the instance's memory limit (\(bounds.memoryLimit))"
        }
        let upgraded = endReason == nil && status.isSignaled && observed.pluginReplaced
        if upgraded {
            endReason = "its plugin file was replaced in place (install or mv a new file instead); not counted as a crash"
        }
        let exit = endReason.map { "\(status): \($0)" } ?? status.description
        lastExit = exit
        lastExitIsNewest = true
        if status.isPermanent {
            return [.cleanUpDriverhost] + fail("\(exit); restarting cannot help")
        }
        // A restart follows: the history is saved with it (restart(counted:)).
        switch upgraded ? .restart(afterMs: 0) : policy.crashed(atMs: now) {
        case .giveUp(let crashes, let window):
            // Not every end is a crash: an error exit (an orderly exit in
            // attach too) says what failed.
            let how = status.isSignaled ? "crashed" : "ended"
            return [.cleanUpDriverhost] + fail("\(how) \(crashes) times within \(window) ms; last: \(exit)")
        case .restart(let delay):
            state = .releasing(since: now, delayMs: delay, counted: !upgraded)
            return [.cleanUpDriverhost, .awaitRelease, .publish]
        }
    }

    private mutating func deadlines(at now: Int64) -> [Effect] {
        guard let deadline = nextDeadline, now >= deadline else { return [] }
        switch state {
        case .starting(let since):
            guard now >= since + Int64(bounds.attachMs) else { return [] }
            return kill(because: "did not attach within \(bounds.attachMs) ms (stopped or hung)")
        case .adopted(let since):
            guard now >= since + Int64(bounds.livenessMs) else { return [] }
            return kill(because: "did not answer within \(bounds.livenessMs) ms of its adoption")
        case .running:
            if now - lastAnswer >= Int64(bounds.livenessMs) {
                return kill(because: "answered no heartbeat for \(bounds.livenessMs) ms (stopped, or stuck outside a plugin callback)")
            }
            guard now >= lastPing + Int64(bounds.livenessMs / 5) else { return [] }
            lastPing = now
            pings += 1
            return [.ping(pings)]
        case .releasing:
            return fail("the kernel did not confirm the release of \(device) within \(bounds.releaseWaitMs) ms after \(lastExit ?? "the exit")")
        case .backoff(_, let counted):
            return restart(counted: counted, at: now)
        case .unloading:
            killSent = true
            endReason = "did not stop within \(bounds.stopMs) ms; killed"
            return [.kill("did not stop within \(bounds.stopMs) ms")]
        case .idle, .failed, .unloaded:
            return []
        }
    }
}
