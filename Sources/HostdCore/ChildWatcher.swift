import CHostd
import NIOConcurrencyHelpers
import Glibc
import DrvHostSystem

/// hostd's one watcher: a single thread with one epoll over every child's
/// pidfd, control channel and stderr pipe, the sysfs attributes hostd waits
/// on (drvproxy's `releases`, a cgroup's `cgroup.events`: POLLPRI), and
/// timers. No thread per child: a child that hangs, floods or holds its
/// device costs one registration, never a blocked thread, and the control
/// plane (the Supervisor actor) only ever receives events.
///
/// Handlers and timers run on the watcher's thread, one at a time, so what
/// only they touch needs no lock. They must not block: reads are
/// non-blocking, and anything long goes back to the actor as an event.
final class ChildWatcher: @unchecked Sendable {
    /// The one hostd uses.
    static let shared = ChildWatcher(name: "hostd-watcher")

    typealias Handler = (_ events: UInt32) -> Void

    private let epoll: Int32
    /// Written to wake the loop when a timer is added from another thread.
    private let wake: Int32
    private let lock = NIOLock()
    private var handlers: [UInt64: (fd: Int32, handler: Handler)] = [:]
    private var timers: [UInt64: (deadline: ContinuousClock.Instant, action: () -> Void)] = [:]
    private var nextToken: UInt64 = 1

    init(name: String) {
        epoll = chd_epoll_create()
        wake = chd_eventfd_cloexec()
        precondition(epoll >= 0 && wake >= 0, "the watcher's \(SystemCallError.last(epoll < 0 ? "epoll_create" : "eventfd"))")
        _ = chd_set_nonblocking(wake)
        _ = chd_epoll_add(epoll, wake, chd_epoll_in(), 0)
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Calls `handler` on the watcher's thread whenever `fd` reports
    /// `events` (level-triggered) until unwatch(_:). Returns the token, or
    /// nil for a descriptor epoll cannot watch (a file without poll support).
    @discardableResult
    func watch(_ fd: Int32, events: UInt32, _ handler: @escaping Handler) -> UInt64? {
        let token = lock.withLock {
            nextToken += 1
            handlers[nextToken] = (fd, handler)
            return nextToken
        }
        guard chd_epoll_add(epoll, fd, events, token) == 0 else {
            _ = lock.withLock { handlers.removeValue(forKey: token) }
            return nil
        }
        return token
    }

    /// Stops watching; call it before closing the descriptor (a closed
    /// number may be reused by the time the loop looks again).
    func unwatch(_ token: UInt64) {
        guard let entry = lock.withLock({ handlers.removeValue(forKey: token) }) else { return }
        _ = chd_epoll_del(epoll, entry.fd)
    }

    /// Runs `action` on the watcher's thread at `deadline`, unless cancelled.
    @discardableResult
    func at(_ deadline: ContinuousClock.Instant, _ action: @escaping () -> Void) -> UInt64 {
        let token = lock.withLock {
            nextToken += 1
            timers[nextToken] = (deadline, action)
            return nextToken
        }
        var one: UInt64 = 1
        _ = write(wake, &one, 8)
        return token
    }

    func cancelTimer(_ token: UInt64) {
        _ = lock.withLock { timers.removeValue(forKey: token) }
    }

    private func run() {
        var ready = [chd_ready](repeating: chd_ready(), count: 64)
        while true {
            let next = lock.withLock { timers.values.map(\.deadline).min() }
            var timeout: Int32 = -1
            if let next {
                let left = next - .now
                timeout = left <= .zero ? 0 : Int32(clamping: left.milliseconds + 1)
            }
            let n = chd_epoll_wait(epoll, &ready, Int32(ready.count), timeout)
            for entry in ready.prefix(max(0, Int(n))) {
                if entry.token == 0 {
                    var count: UInt64 = 0
                    _ = read(wake, &count, 8)
                    continue
                }
                // Looked up at each event: an earlier handler of this round
                // may have unwatched it.
                guard let handler = lock.withLock({ handlers[entry.token]?.handler }) else { continue }
                handler(entry.events)
            }
            let now = ContinuousClock.now
            let due = lock.withLock {
                let tokens = timers.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }.map(\.key)
                return tokens.compactMap { timers.removeValue(forKey: $0)?.action }
            }
            for action in due { action() }
        }
    }
}

/// The waits hostd makes on children and on the kernel, as events of the
/// one watcher (never a thread per wait).
extension ChildWatcher {
    /// The process's exit status once it has exited (reaped, with its
    /// process group killed: ChildProcess.reap), or nil if `bound` passed first.
    func exit(of process: ChildProcess, within bound: Duration? = nil) async -> ExitStatus? {
        await withCheckedContinuation { (done: CheckedContinuation<ExitStatus?, Never>) in
            let once = Once()
            var timer: UInt64?
            var token: UInt64?
            // Registered on the watcher's thread, so that no handler runs
            // before the tokens are known.
            at(.now) { [self] in
                token = watch(process.pidfd, events: chd_epoll_in()) { [self] _ in
                    guard once.claim() else { return }
                    if let token { unwatch(token) }
                    if let timer { cancelTimer(timer) }
                    done.resume(returning: process.reap())
                }
                if let bound {
                    timer = at(.now + bound) { [self] in
                        guard once.claim() else { return }
                        if let token { unwatch(token) }
                        done.resume(returning: nil)
                    }
                }
            }
        }
    }

    /// True once `condition` holds, false if `ms` passed first. `condition`
    /// runs on the watcher's thread: at once, then at each notification of
    /// the sysfs or cgroup attribute at `path` (POLLPRI; a read re-arms it),
    /// or, without an attribute epoll can watch, every `interval`.
    func until(within ms: Int, notifiedBy path: String?, checkingEvery interval: Duration = .milliseconds(2),
               _ condition: @escaping @Sendable () -> Bool) async -> Bool {
        let fd = path.map { open($0, O_RDONLY | O_CLOEXEC) } ?? -1
        let deadline = ContinuousClock.now + .milliseconds(ms)
        return await withCheckedContinuation { (done: CheckedContinuation<Bool, Never>) in
            let once = Once()
            var token: UInt64?
            var timers: [UInt64] = []
            func finish(_ result: Bool) {
                guard once.claim() else { return }
                if let token { unwatch(token) }
                for timer in timers { cancelTimer(timer) }
                if fd >= 0 { close(fd) }
                done.resume(returning: result)
            }
            // Read the attribute before each check: it reports POLLPRI
            // for a notification that came after its last read.
            func rearmAndCheck() {
                if fd >= 0 {
                    var scratch = [UInt8](repeating: 0, count: 64)
                    _ = scratch.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
                }
                if condition() { finish(true) }
            }
            // Everything below runs on the watcher's thread, so `token` and
            // `timers` are only touched there (this first timer fires once
            // and needs no cancelling).
            at(.now) { [self] in
                rearmAndCheck()
                guard !once.isClaimed else { return }
                if fd >= 0, let watched = watch(fd, events: chd_epoll_pri(), { _ in rearmAndCheck() }) {
                    token = watched
                } else {
                    func poll() {
                        timers.append(at(.now + interval) {
                            rearmAndCheck()
                            if !once.isClaimed { poll() }
                        })
                    }
                    poll()
                }
                timers.append(at(deadline) { finish(condition()) })
            }
        }
    }
}

/// Settles a race between two endings (an event and its deadline) on the
/// watcher's thread: the first claim wins.
private final class Once {
    private(set) var isClaimed = false

    func claim() -> Bool {
        defer { isClaimed = true }
        return !isClaimed
    }
}
