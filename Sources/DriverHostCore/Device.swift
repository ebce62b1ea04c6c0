import CDrvHost

/// What the device reports about itself (the proxy's INFO), in Swift terms.
public struct DeviceInfo: Sendable, Equatable {
    public struct BAR: Sendable, Equatable {
        public var size: UInt64
        public var isMemory: Bool
        public init(size: UInt64, isMemory: Bool) {
            self.size = size
            self.isMemory = isMemory
        }
    }

    public var vendor: UInt16
    public var device: UInt16
    public var subvendor: UInt16
    public var subdevice: UInt16
    public var classCode: UInt32
    public var bars: [BAR]
    public var irqKinds: UInt32
    public var dmaMaskBits: UInt32
    /// DRVPROXY_INFO_* (DeviceSafety.swift reads the ABI 2 ones).
    public var flags: UInt32
    /// MSI-X table entries (0: none).
    public var msixVectors: UInt32 = 0
    /// The system IRQ of the INTx line (sysfs "irq"; 0: none, simulated).
    public var irqLine: UInt32 = 0

    public init(vendor: UInt16, device: UInt16, subvendor: UInt16 = 0, subdevice: UInt16 = 0,
                classCode: UInt32 = 0, bars: [BAR], irqKinds: UInt32, dmaMaskBits: UInt32 = 32, flags: UInt32 = 0) {
        self.vendor = vendor
        self.device = device
        self.subvendor = subvendor
        self.subdevice = subdevice
        self.classCode = classCode
        self.bars = bars + Array(repeating: BAR(size: 0, isMemory: true), count: max(0, Int(DRVPROXY_NUM_BARS) - bars.count))
        self.irqKinds = irqKinds
        self.dmaMaskBits = dmaMaskBits
        self.flags = flags
    }

    /// What the proxy's INFO answer says (drvproxy, or devsim's copy of it).
    public init(_ raw: drvproxy_info) {
        let bars = withUnsafeBytes(of: raw.bars) { bytes in
            bytes.bindMemory(to: drvproxy_bar_info.self).map {
                BAR(size: ($0.flags & UInt32(DRVPROXY_BAR_PRESENT)) != 0 ? $0.size : 0,
                    isMemory: ($0.flags & UInt32(DRVPROXY_BAR_MEM)) != 0)
            }
        }
        self.init(vendor: raw.vendor, device: raw.device, subvendor: raw.subvendor, subdevice: raw.subdevice,
                  classCode: raw.class_code, bars: bars, irqKinds: raw.irq_kinds, dmaMaskBits: raw.dma_mask_bits,
                  flags: raw.flags)
        msixVectors = raw.msix_vectors
    }

    /// The BAR table in the form regprog_validate wants.
    var regprogBars: [regprog_bar] {
        bars.map { regprog_bar(size: $0.size, is_io: !$0.isMemory, protect: (regprog_range(), regprog_range())) }
    }
}

public struct DMAAllocation {
    public var id: UInt32
    public var cpu: UnsafeMutableRawPointer
    public var busAddress: UInt64
    public var size: UInt64
}

public enum ProgramKind: UInt32, Sendable {
    case ack = 1      // DRVPROXY_PROG_ACK
    case release = 2  // DRVPROXY_PROG_RELEASE
}

/// The kernel side of one device instance: the real proxy, or a simulation
/// for tests and benchmarks. Everything but the register accessors runs on
/// the loop thread.
public protocol DeviceBackend: AnyObject {
    var info: DeviceInfo { get }
    /// Readable (epoll) when events are pending.
    var eventDescriptor: Int32 { get }
    /// Reads pending events into `buffer`; returns how many (0: none).
    func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(Errno) -> Int
    func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure)
    func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(Errno)
    func unmask() throws(Errno)
    /// The BAR mapped into this process, or nil (I/O BAR, simulation).
    func mapBAR(_ index: Int) throws(Errno) -> UnsafeMutableRawPointer?
    /// Register access for BARs that mapBAR did not map.
    func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64
    func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64)
    func setDMAMask(bits: UInt32) throws(Errno)
    func allocateDMA(size: UInt64) throws(Errno) -> DMAAllocation
    func freeDMA(_ allocation: DMAAllocation) throws(Errno)
    /// Bus mastering (the device's DMA and MSI) on or off. The proxy has it
    /// off after open; driverhost turns it on once attach has set the device up.
    func setBusMaster(_ enabled: Bool) throws(Errno)
    /// Gives the device up; for the proxy this runs the release program.
    func close()
}
