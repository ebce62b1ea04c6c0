import DrvHostControl
import DrvHostProtocol

extension PluginDescription.Match {
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

extension PluginDescription {
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
