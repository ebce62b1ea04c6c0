import DriverHostCore

/// hostd's configuration: defaults that work, then the file
/// (/etc/drvhost/hostd.toml), then command-line flags over both.
///
///   plugin_dir = "/usr/lib/drvhost/plugins"
///   socket     = "/run/drvhost/control.sock"
///   group      = "drvhost"                  # may use the socket besides root
///   state_dir  = "/run/drvhost/state"
///   driverhost = "/usr/libexec/drvhost/driverhost"
///   autoload   = true                       # load new plugins onto matching devices
///   sysfs      = "/sys"                     # a fake tree in unit tests
///   dev_dir    = "/dev/drvproxy"
///   pci_ids    = "/usr/share/misc/pci.ids"
///   pci        = true                       # false: never scan or claim real PCI devices
///   sim_dir    = "/run/drvhost/sim"         # also drive devsim's devices there (default: off)
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
///
///   [net]
///   interface_name = "dh-{plugin}-{pci}"    # a net device's interface: {plugin}, {pci} = p<bus>s<slot>
///
///   [devices]
///   claim  = ["0000:00:05.0"]               # may be taken from their kernel driver
///   ignore = ["0000:00:02.0"]               # never touched
public struct HostdConfig: Equatable, Sendable {
    public var pluginDirectory = "/usr/lib/drvhost/plugins"
    public var socketPath = "/run/drvhost/control.sock"
    public var socketGroup = "drvhost"
    public var stateDirectory = "/run/drvhost/state"
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

    /// Applies a configuration file's text over the current values.
    public mutating func apply(file: String, text: String) throws(Error) {
        let toml: TOMLSubset
        do {
            toml = try TOMLSubset(parsing: text)
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

/// PCI addresses as sysfs spells them: "dddd:bb:ss.f", lower-case hex.
public enum PCIAddress {
    /// Accepts "bb:ss.f" too (domain 0), as lspci prints it.
    public static func normalized(_ text: String) -> String? {
        var parts = text.lowercased().split(whereSeparator: { $0 == ":" || $0 == "." }).map(String.init)
        if parts.count == 3 { parts.insert("0000", at: 0) }
        guard parts.count == 4,
              let domain = UInt16(parts[0], radix: 16), let bus = UInt8(parts[1], radix: 16),
              let slot = UInt8(parts[2], radix: 16), slot < 32,
              let function = UInt8(parts[3], radix: 16), function < 8 else { return nil }
        return "\(hex(UInt64(domain), 4)):\(hex(UInt64(bus), 2)):\(hex(UInt64(slot), 2)).\(function)"
    }

    static func hex(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
