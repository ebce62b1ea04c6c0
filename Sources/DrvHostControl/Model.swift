import DrvHostProtocol
// What hostd reports and hostctl shows. Plain Codable values: they travel as
// JSON over the control socket and are printed by `hostctl --json` as they are.

/// How drvproxy confines a device's DMA: its sysfs attribute `dma_mode`.
public enum DMAMode: String, Codable, Sendable {
    case confined   // an IOMMU limits the device to its owner's DMA buffers
    case unsafe     // no IOMMU; opened in drvproxy's allow_unsafe_dma mode (kernel tainted)
    case refused    // no IOMMU and the unsafe mode is off: drvproxy will not open it
}

/// One PCI device as hostd sees it (from libpci, or a simulated device).
/// What `lspci -v -k` users look for, from sysfs.
public struct DeviceDetails: Codable, Equatable, Sendable {
    public struct Region: Codable, Equatable, Sendable {
        public var index: Int
        public var io: Bool                 // I/O ports, else memory
        public var size: UInt64
        public var prefetchable: Bool
        public var is64Bit: Bool

        public init(index: Int, io: Bool, size: UInt64, prefetchable: Bool, is64Bit: Bool) {
            self.index = index; self.io = io; self.size = size; self.prefetchable = prefetchable; self.is64Bit = is64Bit
        }
    }
    public var regions: [Region]
    public var irq: UInt32?                 // the INTx line's IRQ (0 or absent: none)
    public var irqSharers: [String]         // other devices on that IRQ
    public var interrupts: String?          // "MSI-X", "MSI" or "INTx" as the driver set them up
    public var iommuGroup: Int?
    public var previousDriver: String?      // the driver hostd took it from (and gives it back to)

    public init(regions: [Region] = [], irq: UInt32? = nil, irqSharers: [String] = [], interrupts: String? = nil,
                iommuGroup: Int? = nil, previousDriver: String? = nil) {
        self.regions = regions; self.irq = irq; self.irqSharers = irqSharers; self.interrupts = interrupts
        self.iommuGroup = iommuGroup; self.previousDriver = previousDriver
    }
}

public struct DeviceRow: Codable, Equatable, Sendable {
    public var bdf: String              // "0000:00:05.0", or "sim:edu0"
    public var vendor: UInt16
    public var device: UInt16
    public var subvendor: UInt16
    public var subdevice: UInt16
    public var classCode: UInt32        // base << 16 | sub << 8 | prog-if
    public var vendorName: String?      // from pci.ids
    public var deviceName: String?
    public var className: String?
    public var kernelDriver: String?    // bound kernel driver, e.g. "drvproxy", "e1000"
    public var instance: String?        // drvhost instance driving it, if any
    public var dmaMode: DMAMode?        // for devices bound to drvproxy (and simulated ones)
    public var details: DeviceDetails?  // real PCI devices: what lspci -v -k shows

    public init(bdf: String, vendor: UInt16, device: UInt16, subvendor: UInt16, subdevice: UInt16,
                classCode: UInt32, vendorName: String? = nil, deviceName: String? = nil,
                className: String? = nil, kernelDriver: String? = nil, instance: String? = nil,
                dmaMode: DMAMode? = nil) {
        self.bdf = bdf; self.vendor = vendor; self.device = device
        self.subvendor = subvendor; self.subdevice = subdevice; self.classCode = classCode
        self.vendorName = vendorName; self.deviceName = deviceName; self.className = className
        self.kernelDriver = kernelDriver; self.instance = instance; self.dmaMode = dmaMode
    }
}

/// One plugin file in the plugin directory.
public struct PluginRow: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable { case loaded, available, refused }
    public var file: String             // file name in the plugin directory
    public var name: String?            // from its descriptor, when it could be read
    public var version: String?
    public var state: State
    public var refusal: String?         // why it was refused, for `hostctl list`
    public var instances: [String]

    public init(file: String, name: String?, version: String?, state: State,
                refusal: String? = nil, instances: [String] = []) {
        self.file = file; self.name = name; self.version = version
        self.state = state; self.refusal = refusal; self.instances = instances
    }
}

/// One (device, plugin) instance: one driverhost process at a time.
/// The standard Linux device an instance's plugin serves (a device class):
/// kind "block" (name: the ublk disk) or "net" (name: the interface).
public struct ClassDeviceStatus: Codable, Equatable, Sendable {
    public var kind: String
    public var name: String

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }
}

public struct InstanceStatus: Codable, Equatable, Sendable {
    public enum State: String, Codable, Sendable {
        case starting       // driverhost spawned, attach not confirmed yet
        case running        // attached, handling interrupts
        case restarting     // died; waiting for the kernel's release, then backoff
        case failed         // crashed too often within the window: not restarted
        case stopping
    }
    public var name: String             // "<plugin>@<bdf>", e.g. "edu@0000:00:05.0"
    public var plugin: String
    public var device: String
    public var state: State
    public var pid: Int32?
    public var standbyPid: Int32?       // the warm standby driverhost, if one is waiting
    public var restarts: UInt32
    public var lastExit: String?        // "signal 11 (SIGSEGV)", "exit 40 (watchdog)", ...
    public var failure: String?         // set in state .failed: why it was given up
    public var interrupts: UInt64?      // drvproxy's sysfs counters, when readable
    public var notMine: UInt64?
    public var dropped: UInt64?
    public var releases: UInt64?
    public var storms: UInt64?          // interrupt storms drvproxy masked
    public var dmaMode: DMAMode?        // drvproxy's sysfs dma_mode, when readable
    public var reset: Bool?             // sysfs reset: the function has a reset method
    public var classDevice: ClassDeviceStatus?  // kept across the instance's restarts
    public var callbackDurations: [CallbackDurations]?  // from its driverhost, once it reported any
    public var classCounters: [ClassCounter]?   // the class server's, since the current driverhost started

    public init(name: String, plugin: String, device: String, state: State, pid: Int32? = nil,
                standbyPid: Int32? = nil, restarts: UInt32 = 0, lastExit: String? = nil, failure: String? = nil,
                interrupts: UInt64? = nil, notMine: UInt64? = nil, dropped: UInt64? = nil,
                releases: UInt64? = nil, storms: UInt64? = nil, dmaMode: DMAMode? = nil, reset: Bool? = nil,
                classDevice: ClassDeviceStatus? = nil, callbackDurations: [CallbackDurations]? = nil,
                classCounters: [ClassCounter]? = nil) {
        self.name = name; self.plugin = plugin; self.device = device; self.state = state
        self.pid = pid; self.standbyPid = standbyPid; self.restarts = restarts; self.lastExit = lastExit; self.failure = failure
        self.interrupts = interrupts; self.notMine = notMine; self.dropped = dropped
        self.releases = releases; self.storms = storms; self.dmaMode = dmaMode; self.reset = reset
        self.classDevice = classDevice
        self.callbackDurations = callbackDurations
        self.classCounters = classCounters
    }
}

/// Why hostd refused a request. `code` is stable (hostctl maps it to exit
/// codes and tests match on it); `message` is for people.
public struct ControlError: Error, Codable, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Codable, Sendable {
        case badRequest         // malformed, oversized, unknown op, wrong arguments
        case permissionDenied   // peer is neither root nor in group drvhost
        case notFound           // no such plugin, device or instance
        case conflict           // device already driven, plugin refused, ...
        case failed             // the operation was tried and failed
    }
    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
