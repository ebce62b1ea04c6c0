import CommandValue
import CDrvHost

/// `driverhost --describe`: the validated descriptor as one JSON line, so
/// that the supervisor learns what a plugin drives without ever loading it
/// into its own address space. Hand-written: driverhost has no Foundation.
///
///   {"name":"edu","version":"1.0","abi":"1.0","irqMode":"intx-shared",
///    "matches":[{"vendor":4660,"vendorMask":65535,...,"classCode":0,"classMask":0}],
///    "commands":[{"name":"factorial","signature":"u64(u32)","help":"..."}]}
extension PluginDescriptor {
    public var json: String {
        let matchObjects = matches.map { m in
            "{\"vendor\":\(m.vendor),\"vendorMask\":\(m.vendor_mask),\"device\":\(m.device),\"deviceMask\":\(m.device_mask),"
                + "\"subvendor\":\(m.subvendor),\"subvendorMask\":\(m.subvendor_mask),\"subdevice\":\(m.subdevice),"
                + "\"subdeviceMask\":\(m.subdevice_mask),\"classCode\":\(m.class_code),\"classMask\":\(m.class_mask)}"
        }
        let commandObjects = commands.map { c in
            "{\"name\":\(CommandValue.quoted(c.name)),\"signature\":\(CommandValue.quoted(c.signature.description))"
                + (c.help.map { ",\"help\":\(CommandValue.quoted($0))" } ?? "") + "}"
        }
        return "{\"name\":\(CommandValue.quoted(name)),\"version\":\(CommandValue.quoted(version)),"
            + "\"abi\":\"\(raw.abi_major).\(raw.abi_minor)\",\"irqMode\":\"\(irqModeName)\","
            + "\"matches\":[\(matchObjects.joined(separator: ","))],"
            + "\"commands\":[\(commandObjects.joined(separator: ","))]}"
    }

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
