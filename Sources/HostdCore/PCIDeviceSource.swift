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

    func waitForRelease(_ address: String, past: UInt64, within ms: Int) -> Bool {
        let fd = open(binder.sysfs.devicePath(address) + "/drvproxy/releases", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let deadline = ContinuousClock.now + .milliseconds(ms)
        while true {
            // Read before each wait: a sysfs attribute reports POLLPRI for
            // a notification that came after its last read.
            if let now = PCIDeviceSource.counter(fd), now > past { return true }
            let left = deadline - .now
            guard left > .zero else { return false }
            var entry = pollfd(fd: fd, events: Int16(POLLPRI), revents: 0)
            _ = poll(&entry, 1, Int32(clamping: left.milliseconds + 1))
        }
    }

    private static func counter(_ fd: Int32) -> UInt64? {
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let digits = bytes[..<n].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }

    var driverhostEnvironment: [String: String] { [:] }
}
