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
}

/// What INFO says about the proxy's safety guarantees for this device
/// (drvproxy ABI 2): whether an IOMMU confines its DMA, whether the function
/// has a reset method, whether bus mastering is on.
extension DeviceInfo {
    /// An IOMMU confines the device's DMA to its owner's buffers.
    public var isDMAConfined: Bool { flags & UInt32(DRVPROXY_INFO_DMA_CONFINED) != 0 }
    /// Opened in drvproxy's explicit unsafe mode: nothing confines its DMA.
    public var isDMAUnsafe: Bool { flags & UInt32(DRVPROXY_INFO_DMA_UNSAFE) != 0 }
    /// The function is reset at open and at release.
    public var hasFunctionReset: Bool { flags & UInt32(DRVPROXY_INFO_RESET) != 0 }
    public var isBusMaster: Bool { flags & UInt32(DRVPROXY_INFO_BUS_MASTER) != 0 }
}
