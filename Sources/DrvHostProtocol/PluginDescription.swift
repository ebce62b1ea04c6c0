import CommandValue

/// The describe schema: what `driverhost --describe` prints about a plugin
/// as one JSON line, and what hostd reads (DescriptorReader), so that the
/// supervisor learns what a plugin drives without ever loading it.
///
///   {"name":"edu","version":"1.0","abi":"1.0","irqMode":"intx-shared",
///    "matches":[{"vendor":4660,"vendorMask":65535,...,"classCode":0,"classMask":0}],
///    "commands":[{"name":"factorial","signature":"u64(u32)","help":"..."}]}
///
/// driverhost has no Foundation, so `json` is written by hand here; hostd
/// decodes with Codable. A test round-trips every field.
public struct PluginDescription: Codable, Equatable, Sendable {
    public struct Match: Codable, Equatable, Sendable {
        public var vendor: UInt16, vendorMask: UInt16
        public var device: UInt16, deviceMask: UInt16
        public var subvendor: UInt16, subvendorMask: UInt16
        public var subdevice: UInt16, subdeviceMask: UInt16
        public var classCode: UInt32, classMask: UInt32

        public init(vendor: UInt16, vendorMask: UInt16, device: UInt16, deviceMask: UInt16,
                    subvendor: UInt16, subvendorMask: UInt16, subdevice: UInt16, subdeviceMask: UInt16,
                    classCode: UInt32, classMask: UInt32) {
            self.vendor = vendor; self.vendorMask = vendorMask; self.device = device; self.deviceMask = deviceMask
            self.subvendor = subvendor; self.subvendorMask = subvendorMask
            self.subdevice = subdevice; self.subdeviceMask = subdeviceMask
            self.classCode = classCode; self.classMask = classMask
        }
    }

    public struct Command: Codable, Equatable, Sendable {
        public var name: String
        public var signature: String
        public var help: String?

        public init(name: String, signature: String, help: String? = nil) {
            self.name = name; self.signature = signature; self.help = help
        }
    }

    public var name: String
    public var version: String
    /// "major.minor" of the plugin ABI the plugin was built for.
    public var abi: String
    /// "none", "intx-shared", "intx-disable", "msi" or "msix".
    public var irqMode: String
    public var matches: [Match]
    public var commands: [Command]

    public init(name: String, version: String, abi: String, irqMode: String, matches: [Match], commands: [Command]) {
        self.name = name; self.version = version; self.abi = abi
        self.irqMode = irqMode; self.matches = matches; self.commands = commands
    }

    /// One line of JSON, in the field order above.
    public var json: String {
        let matchObjects = matches.map { m in
            "{\"vendor\":\(m.vendor),\"vendorMask\":\(m.vendorMask),\"device\":\(m.device),\"deviceMask\":\(m.deviceMask),"
                + "\"subvendor\":\(m.subvendor),\"subvendorMask\":\(m.subvendorMask),\"subdevice\":\(m.subdevice),"
                + "\"subdeviceMask\":\(m.subdeviceMask),\"classCode\":\(m.classCode),\"classMask\":\(m.classMask)}"
        }
        let commandObjects = commands.map { c in
            "{\"name\":\(CommandValue.quoted(c.name)),\"signature\":\(CommandValue.quoted(c.signature))"
                + (c.help.map { ",\"help\":\(CommandValue.quoted($0))" } ?? "") + "}"
        }
        return "{\"name\":\(CommandValue.quoted(name)),\"version\":\(CommandValue.quoted(version)),"
            + "\"abi\":\(CommandValue.quoted(abi)),\"irqMode\":\(CommandValue.quoted(irqMode)),"
            + "\"matches\":[\(matchObjects.joined(separator: ","))],"
            + "\"commands\":[\(commandObjects.joined(separator: ","))]}"
    }
}
