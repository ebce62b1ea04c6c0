/// What the control socket can ask of the supervisor. hostd's supervisor
/// implements it; the socket server (and tests, with a fake) call it. Every
/// method throws ControlError only.
public protocol SupervisorAPI: Sendable {
    /// Load a plugin (file name in the plugin directory, or its descriptor
    /// name) onto every matching free device, or onto `device` only.
    func load(plugin: String, device: String?) async throws(ControlError) -> [InstanceStatus]
    /// Unload a plugin (all its instances) or one instance by name; restores
    /// each device's previous kernel driver. Returns the instances removed.
    func unload(_ target: String) async throws(ControlError) -> [String]
    func plugins() async -> [PluginRow]
    func devices() async -> [DeviceRow]
    func instances() async -> [InstanceStatus]
    func status(_ instance: String) async throws(ControlError) -> InstanceStatus
    func restart(_ instance: String) async throws(ControlError) -> InstanceStatus
    /// Run a plugin command inside the instance's driverhost; the arguments
    /// are text, parsed there by the command's declared signature.
    func call(_ instance: String, command: String, arguments: [String]) async throws(ControlError) -> String
    /// Every instance's counters and state in Prometheus' text format.
    func metrics() async -> String
    /// Every instance as it is now, then each state change as it happens,
    /// until the stream is dropped. Bounded: a reader that falls more than
    /// `buffer` changes behind loses the oldest.
    func watch(buffer: Int) async -> AsyncStream<InstanceStatus>
    /// An instance's last `lines` log lines, then (follow) each new one.
    func logs(_ instance: String, lines: Int, follow: Bool) async throws(ControlError) -> AsyncStream<String>
    /// The instance's trace (its driverhost traces while anyone asks), until
    /// the stream is dropped or the instance is unloaded.
    func trace(_ instance: String) async throws(ControlError) -> AsyncStream<TraceBatch>
}
