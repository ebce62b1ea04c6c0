import DrvHostControl
import Glibc
import DrvHostProtocol

/// Real PCI devices: libpci's list, binding to drvproxy through sysfs
/// (driver_override), drvproxy's sysfs counters and /dev/drvproxy nodes.
struct PCIDeviceSource: DeviceSource {
    let scanner: PCIScanner
    let binder: DeviceBinder

    init(config: HostdConfig) {
        let sysfs = Sysfs(root: config.sysfsRoot)
        scanner = PCIScanner(dumpFile: config.pciDump, idsFile: config.pciIDs, sysfs: sysfs)
        binder = DeviceBinder(sysfs: sysfs)
    }

    var kind: String { "PCI device" }

    func address(_ text: String) -> String? { PCIAddress.normalized(text) }

    func scan() throws(DeviceSourceError) -> [DeviceRow] {
        do {
            return try scanner.scan()
        } catch {
            throw DeviceSourceError(description: "cannot enumerate PCI devices: \(error)")
        }
    }

    func claim(_ address: String) throws(DeviceSourceError) -> DeviceBinder.Previous? {
        do {
            return try binder.bindToDrvproxy(address)
        } catch {
            throw DeviceSourceError(description: "cannot bind \(address) to drvproxy: \(error)")
        }
    }

    func restore(_ address: String, _ previous: DeviceBinder.Previous) -> [String] {
        binder.restore(address, previous)
    }

    func counters(_ address: String) -> DeviceCounters {
        let counter = { (name: String) in binder.sysfs.drvproxyCounter(address, name) }
        return DeviceCounters(interrupts: counter("interrupts"), notMine: counter("not_mine"),
                              dropped: counter("dropped"), releases: counter("releases"), storms: counter("storms"),
                              dmaMode: binder.sysfs.dmaMode(address), reset: binder.sysfs.hasReset(address))
    }

    func releases(_ address: String) -> UInt64? {
        binder.sysfs.drvproxyCounter(address, "releases")
    }

    func releasesAttribute(_ address: String) -> String? {
        binder.sysfs.devicePath(address) + "/drvproxy/releases"
    }

    var driverhostEnvironment: [String: String] { [:] }
}
