import DrvHostControl

/// Where the supervisor's devices come from and what taking one involves:
/// real PCI devices (PCIDeviceSource) or devsim's simulated ones
/// (DevSimDeviceSource). The supervisor asks the source that owns an
/// address, so no other code needs to know what kind of device it drives.
protocol DeviceSource: Sendable {
    /// How errors name this kind of device: "PCI device", "simulated device".
    var kind: String { get }

    /// The canonical address for what a user typed ("00:05.0" becomes
    /// "0000:00:05.0"), or nil when the text is not one of this source's.
    func address(_ text: String) -> String?

    func scan() throws(DeviceSourceError) -> [DeviceRow]

    /// Makes the device ready for a driverhost. Returns what must be put
    /// back when hostd lets it go, or nil when there is nothing to put back.
    func claim(_ address: String) throws(DeviceSourceError) -> DeviceBinder.Previous?

    /// Undoes claim(); returns what went wrong, if anything.
    func restore(_ address: String, _ previous: DeviceBinder.Previous) -> [String]

    /// The proxy's counters for `hostctl status`; the releases counter is
    /// also how a crashed instance's release is confirmed.
    func counters(_ address: String) -> DeviceCounters

    /// The releases counter alone: what each restart reads, several times
    /// (counters() reads every attribute).
    func releases(_ address: String) -> UInt64?

    /// The file that notifies (POLLPRI) each change of the releases
    /// counter: drvproxy's sysfs `releases` (sysfs_notify at the end of
    /// each release). hostd's watcher waits on it: no polling, and never a
    /// probe open (an open is a new owner: a reset). nil: the source has no
    /// such file, and the counter is read every few milliseconds instead.
    func releasesAttribute(_ address: String) -> String?

    /// What driverhost needs in its environment to find the device.
    var driverhostEnvironment: [String: String] { get }
}

extension DeviceSource {
    func releases(_ address: String) -> UInt64? { counters(address).releases }
}

/// drvproxy's sysfs counters and safety attributes, or devsim's; nil
/// where unreadable.
struct DeviceCounters: Equatable, Sendable {
    var interrupts: UInt64?
    var notMine: UInt64?
    var dropped: UInt64?
    var releases: UInt64?
    var storms: UInt64?
    var dmaMode: DMAMode?
    var reset: Bool?
}

struct DeviceSourceError: Error, CustomStringConvertible {
    var description: String
}
