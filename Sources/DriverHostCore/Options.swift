import DrvHostProtocol
/// driverhost's command line. Parsed by hand: driverhost uses no packages.
public struct Options: Equatable, Sendable {
    public struct Call: Equatable, Sendable {
        public var name: String
        public var arguments: [String]
    }

    public var bdf: String?
    public var plugin: String?
    public var deviceNode: String?
    public var simulate = false
    public var controlFD: Int32?
    /// A listening unix socket where a later supervisor reconnects.
    public var listenFD: Int32?
    public var stateFile: String?
    public var restartCount: UInt32 = 0
    public var logLevel: Log.Level = .info
    public var calls: [Call] = []
    public var showHelp = false
    public var describe = false
    public var standby = false
    public var limits = CallbackLimits()
    public var irqMode: UInt32?
    /// --no-device-class: attach without serving the plugin's device class.
    public var noDeviceClass = false
    /// The class device this instance had before (--class-device).
    public var classDevice: ClassDevice?
    /// --end-device KIND NAME: end that class device and exit.
    public var endDevice: ClassDevice?
    /// --net-name: how a new network interface is named (NetInterfaceName).
    public var netNamePattern: String?

    public static let help = """
        usage: driverhost --device BDF --plugin PATH [options]

        Drives one PCI device, bound to drvproxy, with one plugin: loads and
        validates the plugin, opens /dev/drvproxy/BDF, installs the plugin's
        ACK and RELEASE programs, calls attach() and runs the interrupt loop
        until SIGTERM. A plugin that offers a device class (block, net) gets
        its standard Linux device, which outlives this process.
        `driverhost --describe --plugin PATH` validates a plugin without any
        device.

        options:
          --device BDF          the device, e.g. 0000:00:05.0 or 00:05.0, or sim:NAME for
                                a device simulated by devsim (its sockets are in
                                $DRVHOST_SIM_DIR, else $XDG_RUNTIME_DIR/drvhost-sim)
          --plugin PATH         the plugin shared object
          --call NAME [ARG...]  after attach, run the plugin command NAME with
                                its arguments (count from its signature), print
                                "NAME(ARGS) = RESULT", and exit after the last
                                --call instead of running the loop; repeatable
          --control-fd N        the supervisor's socketpair end (line protocol)
          --listen-fd N         a listening unix socket (needs --control-fd): when
                                the control channel ends, keep serving the
                                device and accept the next supervisor there
                                (hostd re-adopting its driverhosts after its
                                own restart) instead of exiting
          --standby             load and validate the plugin, then wait for
                                "start <restart-count> [<kind> <name>]" on the
                                control fd before opening the device (a
                                supervisor's warm spare)
          --no-device-class     attach and run --call commands without serving
                                the plugin's device class (an NVMe selftest
                                without making a disk: a disk made for a
                                one-shot run would wait for a server that is
                                not there)
          --class-device KIND:NAME
                                the class device this instance served before
                                (e.g. block:ublkb0): recover it, don't make one
          --end-device KIND NAME
                                end a class device (its I/O fails, it is
                                deleted) and exit; no plugin, no device
          --net-name PATTERN    the name of a net device's new interface, from
                                {plugin} and {pci} (p<bus>s<slot>), at most 15
                                characters (default dh-{plugin}-{pci})
          --state-file PATH     where the plugin's saved state survives restarts
          --restart-count N     reported to the plugin (set by the supervisor)
          --device-node PATH    open PATH instead of /dev/drvproxy/BDF
          --simulate            no kernel: an eventfd-backed edu-like device
                                (for tests and benchmarks)
          --max-callback-ms N   cap on the plugin's callback_timeout_ms: no
                                callback runs longer (default 10000)
          --max-attach-ms N     cap on the plugin's attach_timeout_ms
                                (default 60000)
          --irq-mode MODE       msix, msi, intx-disable or intx-shared instead of
                                the plugin's mode and its fallbacks (a platform
                                whose MSI is broken; tests of a plugin's paths)
          --log-level LEVEL     error, warning, info (default) or debug
          --describe            load and validate the plugin only, print its
                                descriptor as one JSON line, exit (no device;
                                the supervisor reads plugins this way)
          --help                this text

        """ + "\n" + ExitCode.helpTable

    public struct UsageError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public init() {}

    public init(parsing arguments: [String]) throws(UsageError) {
        var rest = arguments[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let v = rest.popFirst(), !v.hasPrefix("--") else { throw UsageError(description: "\(flag) needs a value") }
            return v
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--device":
                // "00:05.0" (as lspci prints it) becomes sysfs's 0000:00:05.0;
                // what is no address stays as given for the check below.
                let device = try value(flag)
                bdf = device.hasPrefix(SimDevice.prefix) ? device : PCIAddress.normalized(device) ?? device
            case "--plugin": plugin = try value(flag)
            case "--device-node": deviceNode = try value(flag)
            case "--simulate": simulate = true
            case "--state-file": stateFile = try value(flag)
            case "--control-fd":
                guard let fd = Int32(try value(flag)), fd >= 0 else { throw UsageError(description: "--control-fd needs a descriptor number") }
                controlFD = fd
            case "--listen-fd":
                guard let fd = Int32(try value(flag)), fd >= 0 else { throw UsageError(description: "--listen-fd needs a descriptor number") }
                listenFD = fd
            case "--restart-count":
                guard let n = UInt32(try value(flag)) else { throw UsageError(description: "--restart-count needs a number") }
                restartCount = n
            case "--max-callback-ms":
                guard let n = UInt32(try value(flag)), n > 0 else { throw UsageError(description: "--max-callback-ms needs a number of milliseconds above 0") }
                limits.maxCallbackMs = n
            case "--max-attach-ms":
                guard let n = UInt32(try value(flag)), n > 0 else { throw UsageError(description: "--max-attach-ms needs a number of milliseconds above 0") }
                limits.maxAttachMs = n
            case "--no-device-class": noDeviceClass = true
            case "--irq-mode":
                let name = try value(flag)
                guard let mode = InterruptPlan.modeNames.first(where: { $0.0 == name })?.1 else {
                    throw UsageError(description: "--irq-mode \(name): one of \(InterruptPlan.modeNames.map(\.0).joined(separator: ", "))")
                }
                irqMode = mode.rawValue
            case "--log-level":
                let name = try value(flag)
                guard let level = Log.Level(name: name) else { throw UsageError(description: "unknown log level \(name)") }
                logLevel = level
            case "--call":
                let name = try value(flag)
                var args: [String] = []
                while let next = rest.first, !next.hasPrefix("--") {
                    args.append(next)
                    rest = rest.dropFirst()
                }
                calls.append(Call(name: name, arguments: args))
            case "--class-device":
                let text = try value(flag)
                guard let device = ClassDevice(argument: text) else {
                    throw UsageError(description: "--class-device \(text): expected KIND:NAME, e.g. block:ublkb0")
                }
                classDevice = device
            case "--end-device":
                let kind = try value(flag), name = try value(flag)
                guard ClassDevice.isWord(kind), ClassDevice.isWord(name) else {
                    throw UsageError(description: "--end-device needs a class and a device name, e.g. --end-device block ublkb0")
                }
                endDevice = ClassDevice(kind: kind, name: name)
            case "--net-name":
                let pattern = try value(flag)
                if let problem = NetInterfaceName.patternProblem(pattern) { throw UsageError(description: "--net-name: \(problem)") }
                netNamePattern = pattern
            case "--describe": describe = true
            case "--standby": standby = true
            case "--help", "-h": showHelp = true
            default: throw UsageError(description: "unknown option \(flag)")
            }
        }
        try validate()
    }

    func validate() throws(UsageError) {
        if showHelp || endDevice != nil { return }
        guard plugin != nil else { throw UsageError(description: "--plugin is required") }
        if describe { return }
        if listenFD != nil, controlFD == nil {
            throw UsageError(description: "--listen-fd needs --control-fd: it replaces that channel")
        }
        if standby {
            guard controlFD != nil else { throw UsageError(description: "--standby needs --control-fd: the start comes from there") }
            guard calls.isEmpty else { throw UsageError(description: "--standby and --call do not go together") }
        }
        guard bdf != nil || simulate else { throw UsageError(description: "--device is required (or --simulate)") }
        if let bdf, bdf.hasPrefix(SimDevice.prefix) {
            guard SimDevice.name(fromDevice: bdf) != nil else {
                throw UsageError(description: "--device \(bdf): a simulated device is sim:NAME, NAME of letters, digits, - and _")
            }
        } else if let bdf, PCIAddress(bdf) == nil {
            throw UsageError(description: "--device \(bdf) is not a PCI address like 0000:00:05.0 nor a simulated device like sim:edu0")
        }
    }
}
