import CDrvHostSDK

/// One entry of a plugin's PCI match table: a device matches when every
/// field given matches (under its mask); a field left out matches anything.
///
///     .id(vendor: 0x1234, device: 0x11e8)         one device
///     .init(vendor: 0x8086)                        any Intel device
///     .class(0x010802)                             any NVMe controller
///     .init(classCode: 0x020000, classMask: 0xff0000)  any network controller
public struct Match: Sendable {
    public let raw: dh_pci_match

    public init(vendor: UInt16? = nil, device: UInt16? = nil, subvendor: UInt16? = nil, subdevice: UInt16? = nil,
                classCode: UInt32? = nil, classMask: UInt32 = 0xff_ffff) {
        raw = dh_pci_match(vendor: vendor ?? 0, vendor_mask: vendor == nil ? 0 : 0xffff,
                           device: device ?? 0, device_mask: device == nil ? 0 : 0xffff,
                           subvendor: subvendor ?? 0, subvendor_mask: subvendor == nil ? 0 : 0xffff,
                           subdevice: subdevice ?? 0, subdevice_mask: subdevice == nil ? 0 : 0xffff,
                           class_code: classCode ?? 0, class_mask: classCode == nil ? 0 : classMask)
    }

    /// Any field under any mask, as struct dh_pci_match says.
    public init(_ raw: dh_pci_match) { self.raw = raw }

    /// vendor:device exactly, anything else.
    public static func id(vendor: UInt16, device: UInt16) -> Match { Match(vendor: vendor, device: device) }

    /// A class code (base << 16 | sub << 8 | prog-if) exactly.
    public static func `class`(_ code: UInt32) -> Match { Match(classCode: code) }
}

/// How the device interrupts (struct dh_plugin.irq_mode).
public enum Interrupts: Sendable, Equatable {
    /// No interrupts: a polling or timer-driven plugin.
    case none
    /// A shared INTx line; needs an ACK program that can say NOT_MINE.
    case intxShared
    /// INTx with the PCI 2.3 disable bit: call `Device.unmask()` after each.
    case intxDisable
    case msi
    /// `vectors` MSI-X vectors (1...2048); `Event.vector` says which fired.
    case msix(vectors: UInt32)

    var mode: dh_irq_mode {
        switch self {
        case .none: DH_IRQ_NONE
        case .intxShared: DH_IRQ_INTX_SHARED
        case .intxDisable: DH_IRQ_INTX_DISABLE
        case .msi: DH_IRQ_MSI
        case .msix: DH_IRQ_MSIX
        }
    }

    var vectors: UInt32 {
        if case .msix(let vectors) = self { return vectors }
        return 0
    }
}
