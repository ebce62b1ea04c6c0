import CDrvHost
import DrvHostProtocol

/// `driverhost --describe`: the validated descriptor in the describe schema
/// (DrvHostProtocol's PluginDescription), printed as its JSON line.
extension PluginDescriptor {
    public var pluginDescription: PluginDescription {
        PluginDescription(
            name: name, version: version, abi: "\(raw.abi_major).\(raw.abi_minor)", irqMode: irqModeName,
            matches: matches.map { m in
                PluginDescription.Match(vendor: m.vendor, vendorMask: m.vendor_mask, device: m.device, deviceMask: m.device_mask,
                                        subvendor: m.subvendor, subvendorMask: m.subvendor_mask, subdevice: m.subdevice,
                                        subdeviceMask: m.subdevice_mask, classCode: m.class_code, classMask: m.class_mask)
            },
            commands: commands.map { PluginDescription.Command(name: $0.name, signature: $0.signature.description, help: $0.help) })
    }

    public var json: String { pluginDescription.json }

    public var irqModeName: String {
        switch raw.irq_mode {
        case DH_IRQ_NONE.rawValue: "none"
        case DH_IRQ_INTX_SHARED.rawValue: "intx-shared"
        case DH_IRQ_INTX_DISABLE.rawValue: "intx-disable"
        case DH_IRQ_MSI.rawValue: "msi"
        default: "msix"
        }
    }
}
