import CoreMetrics
import DrvHostControl
import Prometheus

/// Per-instance metrics in Prometheus' text format, for `hostctl metrics`
/// and the optional HTTP endpoint (metrics_listen). swift-metrics objects
/// on a registry of hostd's own; updated from the instances' status at each
/// scrape, so nothing is counted twice and a scrape costs a sysfs read per
/// counter. The kernel's counters (interrupts, not mine, dropped, releases)
/// only grow while the device is bound to drvproxy: a value below the last
/// one seen means they started again, and the counter goes on from there.
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

        init(_ status: InstanceStatus, factory: any MetricsFactory) {
            let labels = [("instance", status.name), ("plugin", status.plugin), ("device", status.device)]
            func counter(_ name: String) -> CoreMetrics.Counter {
                CoreMetrics.Counter(label: "drvhost_instance_\(name)_total", dimensions: labels, factory: factory)
            }
            counters = [(\.interrupts, counter("interrupts")), (\.notMine, counter("not_mine")),
                        (\.dropped, counter("dropped_events")), (\.releases, counter("releases"))]
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
        }

        func destroy() {
            counters.forEach { $0.1.destroy() }
            restarts.destroy()
            states.forEach { $0.1.destroy() }
        }
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
