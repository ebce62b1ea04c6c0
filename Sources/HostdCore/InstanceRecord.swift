import DriverHostCore
import DrvHostControl

/// Everything the supervisor keeps about one (device, plugin) instance.
/// Only the Supervisor actor touches it.
final class InstanceRecord {
    let name: String
    let pluginFile: String
    let pluginName: String
    let device: String
    var state: InstanceStatus.State = .starting
    var connection: DriverhostConnection?
    /// A driverhost started with --standby: plugin loaded, device not
    /// opened; the next launch sends it "start" instead of spawning.
    var standby: DriverhostConnection?
    /// Bumped for every driverhost started, so that a delayed restart or a
    /// stop's SIGKILL meant for an earlier one does nothing. (Events are
    /// matched to their connection instead: see Supervisor.handle.)
    var generation = 0
    var restarts: UInt32 = 0
    /// The class device the plugin serves (ublk disk, TAP interface): it
    /// outlives each driverhost, is handed to the next one, and is ended
    /// when the instance is unloaded or fails for good.
    var classDevice: ClassDevice?
    var lastExit: String?
    /// Why the current driverhost is ending, when more is known than its
    /// exit status: its own "failed" line, or why hostd killed it.
    var endReason: String?
    /// When the current driverhost last answered a heartbeat.
    var lastAnswer = ContinuousClock.now
    /// The kernel's OOM kills in the instance's cgroup when it started.
    var oomKillsAtStart: UInt64 = 0
    var failure: String?
    var policy: RestartPolicy
    /// drvproxy's releases counter when the current driverhost started.
    var releasesAtStart: UInt64?
    var pendingCalls: [String: CheckedContinuation<String, any Error>] = [:]
    var nextCallID = 0
    /// Woken when the current driverhost has exited.
    var exitWaiters: [CheckedContinuation<Void, Never>] = []
    /// Woken when the driverhost reports attached, or when it exits first.
    var attachWaiters: [CheckedContinuation<Void, Never>] = []

    init(name: String, pluginFile: String, pluginName: String, device: String, limits: RestartPolicy.Limits) {
        self.name = name
        self.pluginFile = pluginFile
        self.pluginName = pluginName
        self.device = device
        self.policy = RestartPolicy(limits)
    }

    static func name(plugin: String, device: String) -> String { "\(plugin)@\(device)" }
}
