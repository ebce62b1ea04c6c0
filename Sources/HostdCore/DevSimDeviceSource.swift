import DrvHostControl
import Glibc
import DevSimClient

/// Devices devsim simulates, as "sim:NAME": listed from the sockets in its
/// runtime directory, nothing to bind (devsim is the proxy), counters asked
/// as an observer. driverhost finds the directory through DRVHOST_SIM_DIR.
struct DevSimDeviceSource: DeviceSource {
    let directory: String

    var kind: String { "simulated device" }

    func address(_ text: String) -> String? {
        DevSimConnection.name(fromDevice: text) == nil ? nil : text
    }

    func scan() throws(DeviceSourceError) -> [DeviceRow] {
        // No kernel driver: like an unbound PCI device, free for autoload.
        DevSimConnection.describeDevices(in: directory).map { d in
            DeviceRow(bdf: d.address, vendor: d.vendor, device: d.device, subvendor: d.subvendor,
                      subdevice: d.subdevice, classCode: d.classCode, deviceName: "simulated by devsim",
                      dmaMode: Self.dmaMode(d.info))
        }
    }

    func claim(_ address: String) throws(DeviceSourceError) -> DeviceBinder.Previous? { nil }

    func restore(_ address: String, _ previous: DeviceBinder.Previous) -> [String] { [] }

    func counters(_ address: String) -> DeviceCounters {
        guard let name = DevSimConnection.name(fromDevice: address),
              let connection = try? DevSimConnection(name: name, directory: directory, role: .observer) else {
            return DeviceCounters()
        }
        defer { connection.close() }
        guard let c = try? connection.counters() else { return DeviceCounters() }
        let info = DeviceInfo(connection.info)
        return DeviceCounters(interrupts: c.interrupts, notMine: c.not_mine, dropped: c.dropped, releases: c.releases, storms: c.storms,
                              dmaMode: Self.dmaMode(info), reset: info.hasFunctionReset)
    }

    /// devsim has no sysfs: INFO's flags say what drvproxy's dma_mode would.
    static func dmaMode(_ info: DeviceInfo) -> DMAMode? {
        info.isDMAConfined ? .confined : info.isDMAUnsafe ? .unsafe : nil
    }

    /// Opening as the owner would take the device; the releases counter,
    /// which devsim updates before it answers anyone, is the confirmation.
    /// devsim finishes a hung-up owner's release before it answers anyone
    /// about the device, so once the driverhost has exited the first
    /// answer nearly always shows it; re-asked every millisecond otherwise.
    /// devsim's counters come over its socket: nothing to poll().
    func releasesAttribute(_ address: String) -> String? { nil }

    var driverhostEnvironment: [String: String] { ["DRVHOST_SIM_DIR": directory] }
}
