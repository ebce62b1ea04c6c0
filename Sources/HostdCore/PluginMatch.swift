import DrvHostControl

/// What `driverhost --describe` prints for a plugin (DescriptorJSON.swift in
/// DriverHostCore): the fields hostd needs to match devices and show plugins.
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

        /// The same rule as driverhost's PluginDescriptor.matches: every
        /// field equal under its mask.
        public func matches(_ d: DeviceRow) -> Bool {
            d.vendor & vendorMask == vendor & vendorMask
                && d.device & deviceMask == device & deviceMask
                && d.subvendor & subvendorMask == subvendor & subvendorMask
                && d.subdevice & subdeviceMask == subdevice & subdeviceMask
                && d.classCode & classMask == classCode & classMask
        }
    }

    public struct Command: Codable, Equatable, Sendable {
        public var name: String
        public var signature: String
        public var help: String?
    }

    public var name: String
    public var version: String
    public var abi: String
    public var irqMode: String
    public var matches: [Match]
    public var commands: [Command]

    public init(name: String, version: String, abi: String, irqMode: String, matches: [Match], commands: [Command]) {
        self.name = name; self.version = version; self.abi = abi
        self.irqMode = irqMode; self.matches = matches; self.commands = commands
    }

    public func drives(_ device: DeviceRow) -> Bool {
        matches.contains { $0.matches(device) }
    }
}

/// Which devices hostd may take. A device with no kernel driver (or already
/// on drvproxy) is free; one bound to another driver is taken only when the
/// configuration claims it; an ignored device is never touched.
public struct DeviceClaimPolicy: Equatable, Sendable {
    public var claim: Set<String>
    public var ignore: Set<String>

    public init(claim: [String], ignore: [String]) {
        self.claim = Set(claim)
        self.ignore = Set(ignore)
    }

    public enum Verdict: Equatable, Sendable {
        case take
        case leave(String)
    }

    public func verdict(for device: DeviceRow) -> Verdict {
        if ignore.contains(device.bdf) { return .leave("\(device.bdf) is in devices.ignore") }
        switch device.kernelDriver {
        case nil, "drvproxy"?: return .take
        case let driver? where claim.contains(device.bdf): _ = driver; return .take
        case let driver?: return .leave("\(device.bdf) is bound to \(driver) and not in devices.claim")
        }
    }
}
