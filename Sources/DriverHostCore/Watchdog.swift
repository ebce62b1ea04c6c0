import CDrvHost
import DrvHostSystem
import DrvHostProtocol

/// Arms the watchdog thread (CDrvHost/watchdog.c) around every call into the
/// plugin. Nested calls (interrupt() delivered inside a command's
/// wait_events) get their own bound; when they return, the outer call's
/// bound starts afresh. Time spent waiting inside the host does not count.
final class CallbackWatchdog {
    struct Bound {
        let nanoseconds: UInt64
        let what: StaticString
    }

    /// Callbacks in progress, innermost last. Nesting is shallow (a
    /// command, an interrupt inside its wait); a fixed stack keeps the
    /// per-event path free of allocation and reference counting.
    private static let maxDepth = 16
    private let active = UnsafeMutablePointer<Bound>.allocate(capacity: CallbackWatchdog.maxDepth)
    private var depth = 0

    deinit {
        active.deallocate()
    }

    @inline(__always)
    func guarding<T>(_ bound: Bound, _ body: () -> T) -> T {
        precondition(depth < CallbackWatchdog.maxDepth, "plugin callbacks nested too deeply")
        active[depth] = bound
        depth += 1
        arm(bound)
        defer {
            depth -= 1
            if depth > 0 { arm(active[depth - 1]) } else { cdh_watchdog_disarm() }
        }
        return body()
    }

    /// For host code that blocks (wait_events): the plugin is not running.
    func paused<T>(_ body: () throws(SystemCallError) -> T) throws(SystemCallError) -> T {
        cdh_watchdog_disarm()
        defer { if depth > 0 { arm(active[depth - 1]) } }
        return try body()
    }

    var isInsideCallback: Bool { depth > 0 }

    @inline(__always)
    private func arm(_ bound: Bound) {
        cdh_watchdog_arm(bound.nanoseconds, UnsafeRawPointer(bound.what.utf8Start).assumingMemoryBound(to: CChar.self))
    }

    /// Starts the watchdog thread; call once, after signals are blocked.
    static func start() throws(HostFailure) {
        let err = cdh_watchdog_start(ExitCode.watchdog.rawValue)
        guard err == 0 else { throw HostFailure(.internalError, "cannot start the watchdog thread: \(SystemCallError(err, call: "pthread_create"))") }
    }
}
