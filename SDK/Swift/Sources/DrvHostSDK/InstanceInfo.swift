import CDrvHostSDK

/// Who the device is and what it has (struct dh_instance_info).
public struct InstanceInfo: Sendable {
    public struct BAR: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Memory-mapped: `Device.mappedBAR` can map it on the real proxy.
            case memory
            /// I/O ports: reached only through the host's read/write.
            case io
        }
        public let index: Int
        public let size: UInt64
        public let kind: Kind
    }

    /// "dddd:bb:ss.f", as lspci and hostctl print it.
    public let address: String
    public let vendor: UInt16, device: UInt16, subvendor: UInt16, subdevice: UInt16
    /// base class << 16 | subclass << 8 | prog-if
    public let classCode: UInt32
    /// 0 on the first attach, then +1 per restart.
    public let restartCount: UInt32
    /// The BARs the device has, by index.
    public let bars: [BAR]
    /// The system IRQ of the INTx line (lspci's "IRQ"), nil if none or simulated.
    public let irqLine: UInt32?
    /// Entries of the MSI-X table (0: no MSI-X).
    public let msixVectors: UInt32
    public let dmaMaskBits: UInt32

    init(_ raw: dh_instance_info) {
        func hex<T: BinaryInteger>(_ value: T, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text
        }
        address = "\(hex(raw.pci_domain, 4)):\(hex(raw.pci_bus, 2)):\(hex(raw.pci_slot, 2)).\(raw.pci_function)"
        vendor = raw.vendor
        device = raw.device
        subvendor = raw.subvendor
        subdevice = raw.subdevice
        classCode = raw.class_code
        restartCount = raw.restart_count
        let sizes = withUnsafeBytes(of: raw.bar_size) { Array($0.bindMemory(to: UInt64.self)) }
        let kinds = withUnsafeBytes(of: raw.bar_kind) { Array($0) }
        bars = sizes.indices.compactMap { i in
            sizes[i] == 0 ? nil : BAR(index: i, size: sizes[i], kind: kinds[i] == UInt8(DH_BAR_IO) ? .io : .memory)
        }
        irqLine = raw.irq_line == 0 ? nil : raw.irq_line
        msixVectors = raw.msix_vectors
        dmaMaskBits = raw.dma_mask_bits
    }
}
