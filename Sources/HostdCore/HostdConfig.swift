import DrvHostProtocol

/// hostd's configuration: defaults that work, then the file
/// (/etc/drvhost/hostd.toml), then command-line flags over both.
///
///   plugin_dir = "/usr/lib/drvhost/plugins"
///   socket     = "/run/drvhost/control.sock"
///   group      = "drvhost"                  # may use the socket besides root
///   state_dir  = "/run/drvhost/state"       # runtime: saved plugin state, bindings
///   intent_dir = "/var/lib/drvhost"         # kept across restarts and reboots: what
///                                           # the operator loaded and unloaded, history
///   driverhost = "/usr/libexec/drvhost/driverhost"
///   autoload   = true                       # load new plugins onto matching devices
///   sysfs      = "/sys"                     # a fake tree in unit tests
///   dev_dir    = "/dev/drvproxy"
///   pci_ids    = "/usr/share/misc/pci.ids"
///   pci        = true                       # false: never scan or claim real PCI devices
///   sim_dir    = "/run/drvhost/sim"         # also drive devsim's devices there (default: off)
///   metrics_listen = "127.0.0.1:9464"       # serve GET /metrics over HTTP (default: off)
///
///   [restart]
///   max_crashes = 5                         # this many within window_ms: failed
///   window_ms = 30000
///   backoff_initial_ms = 50
///   backoff_max_ms = 5000
///   release_wait_ms = 2000                  # bound on waiting for the kernel's release
///   warm_standby = true                     # keep a started, plugin-loaded driverhost ready
///
///   [limits]
///   max_callback_ms = 10000                 # cap on a plugin's callback_timeout_ms
///   max_attach_ms = 60000                   # cap on a plugin's attach_timeout_ms
///   liveness_ms = 15000                     # a running driverhost that answers no
///                                           # heartbeat this long is killed and
///                                           # restarted (default: max_callback_ms + 5000)
///
///   [instance]                              # what each instance may take
///   memory_max_mb = 512                     # beyond this hostd ends it (cgroup memory.high;
///                                           # RLIMIT_DATA without cgroup v2)
///   pids_max = 64                           # processes and threads (cgroup v2 only)
///   cpu_weight = 100                        # CPU share, 1..10000 (cgroup v2 only)
///   open_files = 1024                       # RLIMIT_NOFILE
///   cgroup = "/sys/fs/cgroup"               # cgroup v2 mount; "" for rlimits only
///
///   [net]
///   interface_name = "dh-{plugin}-{pci}"    # a net device's interface: {plugin}, {pci} = p<bus>s<slot>
///   carrier_grace_ms = 1000                 # how long an interface nobody drives keeps its
///                                           # carrier: a restart within it is no link change
///
///   [devices]
///   claim  = ["0000:00:05.0"]               # may be taken from their kernel driver
///   ignore = ["0000:00:02.0"]               # never touched
public struct HostdConfig: Equatable, Sendable {
    public var pluginDirectory = "/usr/lib/drvhost/plugins"
    public var socketPath = "/run/drvhost/control.sock"
    public var socketGroup = "drvhost"
    public var stateDirectory = "/run/drvhost/state"
    /// What the operator said and each instance's history (OperatorIntent).
    public var intentDirectory = "/var/lib/drvhost"
    public var driverhostPath = "/usr/libexec/drvhost/driverhost"
    public var autoload = true
    public var sysfsRoot = "/sys"
    public var deviceDirectory = "/dev/drvproxy"
    public var pciIDs: String? = nil
    /// Tests: read PCI devices from an `lspci -x` dump instead of the bus.
    public var pciDump: String? = nil
    /// Real PCI devices are listed and claimed; off for a devsim-only hostd.
    public var pciDevices = true
    /// devsim's runtime directory: its devices are listed as "sim:NAME".
    public var simDirectory: String? = nil
    public var restart = RestartPolicy.Limits()
    public var releaseWaitMs = 2000
    /// One spare driverhost per running instance, plugin loaded, device
    /// untouched: a restart then skips process start-up and plugin loading.
    public var warmStandby = true
    /// Caps on the watchdog bounds plugins declare, passed to every
    /// driverhost: no plugin callback runs longer than these.
    public var limits = CallbackLimits()
    /// How driverhost names a net device's new interface (--net-name);
    /// nil: driverhost's default, NetInterfaceName.defaultPattern.
    public var netInterfaceName: String? = nil
    /// How long a net interface keeps its carrier while nobody drives it
    /// (its driverhost restarting): a carrier that goes off makes the kernel
    /// drop what TCP sends, and TCP then waits out its retransmission timer.
    public var carrierGraceMs = 1000
    /// How long a driverhost may leave heartbeats unanswered (nil: the
    /// longest callback the caps allow, plus 5 s of slack).
    public var livenessMs: Int? = nil
    public var resources = InstanceResources()
    /// Where cgroup v2 is mounted; nil: rlimits only.
    public var cgroupMount: String? = "/sys/fs/cgroup"
    /// Where to serve GET /metrics; nil: not at all (hostctl metrics still works).
    public var metricsListen: ListenAddress?

    public struct ListenAddress: Equatable, Sendable {
        public var host: String
        public var port: Int

        /// "HOST:PORT" or "[IPv6]:PORT".
        public init?(_ text: String) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (1...65535).contains(port) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            self.host = host
            self.port = port
        }
    }

    public var claim: [String] = []
    public var ignore: [String] = []

    public init() {}

    public struct Error: Swift.Error, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int?
        public var reason: String
        public init(file: String, line: Int?, reason: String) {
            self.file = file
            self.line = line
            self.reason = reason
        }

        public var description: String {
            line.map { "\(file):\($0): \(reason)" } ?? "\(file): \(reason)"
        }
    }

    /// The liveness bound in force: a plugin callback may hold the loop for
    /// up to max_callback_ms, so the bound is never below that.
    public var livenessBoundMs: Int {
        max(livenessMs ?? Int(limits.maxCallbackMs) + 5000, Int(limits.maxCallbackMs) + 100)
    }

    /// Applies a configuration file's text over the current values.
    public mutating func apply(file: String, text: String) throws(Error) {
        let toml: TOMLDocument
        do {
            toml = try TOMLDocument(parsing: text)
        } catch {
            throw Error(file: file, line: error.line, reason: error.reason)
        }
        for key in toml.keysInOrder {
            let entry = toml.entries[key]!
            func fail(_ reason: String) -> Error { Error(file: file, line: entry.line, reason: reason) }
            func string() throws(Error) -> String {
                guard case .string(let s) = entry.value, !s.isEmpty else { throw fail("\(key) must be a non-empty string") }
                return s
            }
            func path() throws(Error) -> String {
                let s = try string()
                guard s.hasPrefix("/") else { throw fail("\(key) must be an absolute path, not \"\(s)\"") }
                return s
            }
            func milliseconds(_ range: ClosedRange<Int>) throws(Error) -> Int {
                guard case .integer(let n) = entry.value, range.contains(n) else {
                    throw fail("\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)")
                }
                return n
            }
            func devices() throws(Error) -> [String] {
                guard case .array(let items) = entry.value else { throw fail("\(key) must be an array of PCI addresses") }
                var out: [String] = []
                for item in items {
                    guard case .string(let s) = item, let bdf = PCIAddress.normalized(s) else {
                        throw fail("\(key): \(item) is not a PCI address like 0000:00:05.0")
                    }
                    out.append(bdf)
                }
                return out
            }
            switch key {
            case "plugin_dir": pluginDirectory = try path()
            case "socket": socketPath = try path()
            case "group": socketGroup = try string()
            case "state_dir": stateDirectory = try path()
            case "intent_dir": intentDirectory = try path()
            case "metrics_listen":
                let text = try string()
                guard let address = ListenAddress(text) else { throw fail("metrics_listen must be HOST:PORT, like \"127.0.0.1:9464\", not \"\(text)\"") }
                metricsListen = address
            case "driverhost": driverhostPath = try path()
            case "sysfs": sysfsRoot = try path()
            case "dev_dir": deviceDirectory = try path()
            case "pci_ids": pciIDs = try path()
            case "sim_dir": simDirectory = try path()
            case "pci":
                guard case .boolean(let b) = entry.value else { throw fail("pci must be true or false") }
                pciDevices = b
            case "autoload":
                guard case .boolean(let b) = entry.value else { throw fail("autoload must be true or false") }
                autoload = b
            case "restart.max_crashes": restart.maxCrashes = try milliseconds(1...1000)
            case "restart.window_ms": restart.windowMs = try milliseconds(1...86_400_000)
            case "restart.backoff_initial_ms": restart.initialBackoffMs = try milliseconds(1...600_000)
            case "restart.backoff_max_ms": restart.maxBackoffMs = try milliseconds(1...3_600_000)
            case "restart.release_wait_ms": releaseWaitMs = try milliseconds(1...60_000)
            case "restart.warm_standby":
                guard case .boolean(let b) = entry.value else { throw fail("restart.warm_standby must be true or false") }
                warmStandby = b
            case "limits.max_callback_ms": limits.maxCallbackMs = UInt32(try milliseconds(1...3_600_000))
            case "limits.max_attach_ms": limits.maxAttachMs = UInt32(try milliseconds(1...3_600_000))
            case "net.interface_name":
                let pattern = try string()
                if let problem = NetInterfaceName.patternProblem(pattern) { throw fail(problem) }
                netInterfaceName = pattern
            case "net.carrier_grace_ms": carrierGraceMs = try milliseconds(0...60_000)
            case "limits.liveness_ms": livenessMs = try milliseconds(100...3_600_000)
            case "instance.memory_max_mb": resources.memoryMaxMB = try milliseconds(16...1_048_576)
            case "instance.pids_max": resources.pidsMax = try milliseconds(8...1_000_000)
            case "instance.cpu_weight": resources.cpuWeight = try milliseconds(1...10_000)
            case "instance.open_files": resources.openFiles = try milliseconds(64...1_048_576)
            case "instance.cgroup":
                guard case .string(let s) = entry.value else { throw fail("instance.cgroup must be a path, or \"\" for rlimits only") }
                guard s.isEmpty || s.hasPrefix("/") else { throw fail("instance.cgroup must be an absolute path, not \"\(s)\"") }
                cgroupMount = s.isEmpty ? nil : s
            case "devices.claim": claim = try devices()
            case "devices.ignore": ignore = try devices()
            default: throw fail("unknown setting \(key)")
            }
        }
        guard restart.initialBackoffMs <= restart.maxBackoffMs else {
            throw Error(file: file, line: toml.entries["restart.backoff_max_ms"]?.line,
                        reason: "restart.backoff_max_ms is below restart.backoff_initial_ms")
        }
    }
}
