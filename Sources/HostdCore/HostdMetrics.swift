import CoreMetrics
import DrvHostControl
import Prometheus
import DrvHostProtocol

/// Per-instance metrics in Prometheus' text format, for `hostctl metrics`
/// and the optional HTTP endpoint (metrics_listen). swift-metrics objects
/// on a registry of hostd's own; updated from the instances' status at each
/// scrape, so nothing is counted twice and a scrape costs a sysfs read per
/// counter. The kernel's counters (interrupts, not mine, dropped, releases)
/// only grow while the device is bound to drvproxy: a value below the last
/// one seen means they started again, and the counter goes on from there.
/// Plugin callback durations (sampled by driverhost, accumulated across
/// its restarts by hostd) are a histogram per instance and callback in
/// Prometheus' layout (`_bucket` with `le`, `_sum`, `_count`): counters that
/// histogram_quantile() reads like any histogram.
final class HostdMetrics {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private var instances: [String: InstanceMetrics] = [:]

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    static let states: [InstanceStatus.State] = [.starting, .running, .restarting, .failed, .stopping]

    private final class InstanceMetrics {
        let counters: [(KeyPath<InstanceStatus, UInt64?>, CoreMetrics.Counter)]
        let restarts: CoreMetrics.Counter
        let states: [(InstanceStatus.State, CoreMetrics.Gauge)]
        var lastSeen: [UInt64]
        var lastRestarts: UInt32 = 0
        let labels: [(String, String)]
        let factory: any MetricsFactory
        var durations: [String: DurationMetrics] = [:]

        init(_ status: InstanceStatus, factory: any MetricsFactory) {
            let labels = [("instance", status.name), ("plugin", status.plugin), ("device", status.device)]
            self.labels = labels
            self.factory = factory
            func counter(_ name: String) -> CoreMetrics.Counter {
                CoreMetrics.Counter(label: "drvhost_instance_\(name)_total", dimensions: labels, factory: factory)
            }
            counters = [(\.interrupts, counter("interrupts")), (\.notMine, counter("not_mine")),
                        (\.dropped, counter("dropped_events")), (\.releases, counter("releases")),
                        (\.storms, counter("storms"))]
            restarts = counter("restarts")
            states = HostdMetrics.states.map { state in
                (state, CoreMetrics.Gauge(label: "drvhost_instance_state", dimensions: labels + [("state", state.rawValue)],
                                          factory: factory))
            }
            lastSeen = Array(repeating: 0, count: counters.count)
        }

        func update(_ status: InstanceStatus) {
            for (index, (path, counter)) in counters.enumerated() {
                guard let now = status[keyPath: path] else { continue }
                let last = lastSeen[index]
                counter.increment(by: Int64(truncatingIfNeeded: now >= last ? now - last : now))
                lastSeen[index] = now
            }
            if status.restarts > lastRestarts {
                restarts.increment(by: Int64(status.restarts - lastRestarts))
            }
            lastRestarts = status.restarts
            for (state, gauge) in states { gauge.record(state == status.state ? 1 : 0) }
            for figures in status.callbackDurations ?? [] {
                let metrics = durations[figures.callback]
                    ?? DurationMetrics(figures, labels: labels + [("callback", figures.callback)], factory: factory)
                durations[figures.callback] = metrics
                metrics.update(figures)
            }
        }

        func destroy() {
            durations.values.forEach { $0.destroy() }
            counters.forEach { $0.1.destroy() }
            restarts.destroy()
            states.forEach { $0.1.destroy() }
        }
    }

    /// One callback's histogram. The figures are cumulative and only grow
    /// while the instance exists; should they fall (a new hostd's record),
    /// the counters go on from there.
    private final class DurationMetrics {
        static let name = "drvhost_instance_callback_duration_seconds"
        let bounds: [UInt64]
        let buckets: [CoreMetrics.Counter]
        let infinite: CoreMetrics.Counter
        let count: CoreMetrics.Counter
        let sum: CoreMetrics.FloatingPointCounter
        var last: CallbackDurations?

        init(_ figures: CallbackDurations, labels: [(String, String)], factory: any MetricsFactory) {
            bounds = figures.buckets.map(\.leNs)
            buckets = bounds.map {
                CoreMetrics.Counter(label: Self.name + "_bucket", dimensions: labels + [("le", HostdMetrics.seconds($0))], factory: factory)
            }
            infinite = CoreMetrics.Counter(label: Self.name + "_bucket", dimensions: labels + [("le", "+Inf")], factory: factory)
            count = CoreMetrics.Counter(label: Self.name + "_count", dimensions: labels, factory: factory)
            sum = CoreMetrics.FloatingPointCounter(label: Self.name + "_sum", dimensions: labels, factory: factory)
        }

        func update(_ figures: CallbackDurations) {
            guard figures.buckets.map(\.leNs) == bounds else { return }
            func delta(_ now: UInt64, _ before: UInt64?) -> Int64 {
                Int64(truncatingIfNeeded: now >= (before ?? 0) ? now - (before ?? 0) : now)
            }
            for (i, bucket) in figures.buckets.enumerated() {
                buckets[i].increment(by: delta(bucket.count, last?.buckets[i].count))
            }
            infinite.increment(by: delta(figures.count, last?.count))
            count.increment(by: delta(figures.count, last?.count))
            sum.increment(by: Double(delta(figures.sumNs, last?.sumNs)) / 1e9)
            last = figures
        }

        func destroy() {
            buckets.forEach { $0.destroy() }
            infinite.destroy()
            count.destroy()
            sum.destroy()
        }
    }

    /// ns as seconds in plain decimal ("0.0000025"), as `le` labels are written.
    static func seconds(_ ns: UInt64) -> String {
        let whole = ns / 1_000_000_000
        var fraction = String(ns % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    /// The text format for the instances as they are now; those gone since
    /// the last scrape are dropped from it.
    func render(_ statuses: [InstanceStatus]) -> String {
        let current = Set(statuses.map(\.name))
        for (name, metrics) in instances where !current.contains(name) {
            metrics.destroy()
            instances.removeValue(forKey: name)
        }
        for status in statuses {
            let metrics = instances[status.name] ?? InstanceMetrics(status, factory: factory)
            instances[status.name] = metrics
            metrics.update(status)
        }
        return registry.emitToString()
    }
}
