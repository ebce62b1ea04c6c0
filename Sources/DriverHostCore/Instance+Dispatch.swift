import CDrvHost
import DrvHostSystem

/// Events into the plugin: interrupts and timers from the loop, each under
/// its watchdog bound, timed for the metrics and traced while tracing is on.
extension Instance {
    @inline(__always)
    func deliver(_ event: UnsafePointer<dh_event>) {
        guard let interrupt = interruptCallback else { return }
        let context = self.context
        inEventCallback = true
        if _slowPath(timing.interruptDue()) {
            timed(CDH_CALLBACK_INTERRUPT, event: event) { watchdog.guarding(callbackBound) { interrupt(context, event) } }
        } else {
            watchdog.guarding(callbackBound) { interrupt(context, event) }
        }
        inEventCallback = false
    }

    func timerFired(_ id: UInt32) {
        guard let timer = descriptor.raw.timer else { return }
        let context = self.context
        inEventCallback = true
        timed(CDH_CALLBACK_TIMER) { watchdog.guarding(timerBound) { timer(context, id) } }
        inEventCallback = false
    }

    /// A callback timed for the metrics (CallbackTiming) and, while
    /// tracing, recorded with the event it was given. The time includes
    /// nested waits (a command waiting for its interrupt): it is how long
    /// the plugin kept the loop.
    @inline(never)
    @discardableResult
    func timed<T>(_ which: cdh_trace_callback, event: UnsafePointer<dh_event>? = nil, _ body: () -> T) -> T {
        if trace.isOn, let event { trace.event(event) }
        let start = cdh_monotonic_ns()
        let result = body()
        let duration = cdh_monotonic_ns() &- start
        timing.add(which, durationNs: duration)
        if trace.isOn { trace.callback(which, start: start, duration: duration) }
        return result
    }

    /// "trace on"/"trace off" from hostd (hostctl trace); the dispatch
    /// benchmark too.
    public func setTracing(_ on: Bool) {
        guard on else {
            guard trace.isOn else { return }
            trace.stop()
            timing.timesEveryInterrupt = false
            log(.info, "plugin \(descriptor.name): tracing off (\(trace.dropped) records dropped in all)")
            return
        }
        guard !trace.isOn else { return }
        guard trace.start(watching: { fd throws(SystemCallError) in try loop.addTraceTimer(fd) }) else {
            log(.warning, "plugin \(descriptor.name): cannot start tracing (no memory or no timer)")
            return
        }
        timing.timesEveryInterrupt = true
        log(.info, "plugin \(descriptor.name): tracing on")
    }
}
