import DrvHostProtocol

/// Who this instance is, as the plugin sees it in dh_instance_info.
public struct InstanceIdentity: Sendable {
    public var domain: UInt16 = 0
    public var bus: UInt8 = 0
    public var slot: UInt8 = 0
    public var function: UInt8 = 0
    public var restartCount: UInt32 = 0

    public init() {}

    /// Parses a PCI address (PCIAddress: "dddd:bb:ss.f" or "bb:ss.f").
    public init?(bdf: String, restartCount: UInt32 = 0) {
        guard let address = PCIAddress(bdf) else { return nil }
        self.domain = address.domain
        self.bus = address.bus
        self.slot = address.slot
        self.function = address.function
        self.restartCount = restartCount
    }
}

extension NetInterfaceName {
    public static func make(pattern: String, plugin: String, identity: InstanceIdentity) -> String {
        make(pattern: pattern, plugin: plugin, domain: identity.domain, bus: identity.bus, slot: identity.slot,
             function: identity.function)
    }
}
