import DrvHostControl
import FoundationEssentials
import Glibc
import DrvHostSystem

/// The sysfs files hostd reads and writes, under a root that is "/sys" on a
/// real system and a plain directory tree in unit tests.
public struct Sysfs: Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    public func devicePath(_ bdf: String) -> String { "\(root)/bus/pci/devices/\(bdf)" }
    public func driverPath(_ driver: String) -> String { "\(root)/bus/pci/drivers/\(driver)" }

    /// The kernel driver bound now, from the `driver` link's last component.
    public func boundDriver(_ bdf: String) -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: devicePath(bdf) + "/driver") else {
            return nil
        }
        return target.split(separator: "/").last.map(String.init)
    }

    /// driver_override, nil when unset (the kernel shows "(null)").
    public func driverOverride(_ bdf: String) -> String? {
        guard let text = read(devicePath(bdf) + "/driver_override"), text != "(null)", !text.isEmpty else { return nil }
        return text
    }

    /// One of drvproxy's counters (drvproxy.h): interrupts, not_mine,
    /// dropped, releases, storms, owner_pid.
    public func drvproxyCounter(_ bdf: String, _ name: String) -> UInt64? {
        drvproxyAttribute(bdf, name).flatMap { UInt64($0) }
    }

    /// drvproxy's `dma_mode`: confined, unsafe or refused (ABI 2).
    public func dmaMode(_ bdf: String) -> DMAMode? {
        drvproxyAttribute(bdf, "dma_mode").flatMap(DMAMode.init(rawValue:))
    }

    /// drvproxy's `reset`: whether the function has a reset method.
    public func hasReset(_ bdf: String) -> Bool? {
        switch drvproxyAttribute(bdf, "reset") {
        case "1": true
        case "0": false
        default: nil
        }
    }

    /// The regions, IRQ, interrupt kind and IOMMU group of a device
    /// (sharers and the previous driver are the caller's to add).
    public func details(_ bdf: String) -> DeviceDetails {
        let path = devicePath(bdf)
        var details = DeviceDetails()
        // "start end flags" per line: six BARs, then the ROM and bridge windows.
        let lines = read(path + "/resource")?.split(separator: "\n") ?? []
        for (index, line) in lines.prefix(6).enumerated() {
            let fields = line.split(separator: " ").compactMap { UInt64($0.dropFirst(2), radix: 16) }
            guard fields.count == 3, fields[1] > fields[0] else { continue }
            let flags = fields[2]
            // IORESOURCE_IO 0x100, _PREFETCH 0x2000, _MEM_64 0x100000
            details.regions.append(.init(index: index, io: flags & 0x100 != 0, size: fields[1] - fields[0] + 1,
                                         prefetchable: flags & 0x2000 != 0, is64Bit: flags & 0x100000 != 0))
        }
        details.irq = read(path + "/irq").flatMap { UInt32($0) }.flatMap { $0 == 0 ? nil : $0 }
        if let vectors = try? FileManager.default.contentsOfDirectory(atPath: path + "/msi_irqs"), !vectors.isEmpty {
            let kinds = Set(vectors.compactMap { read(path + "/msi_irqs/\($0)") })
            details.interrupts = kinds.contains("msix") ? "MSI-X (\(vectors.count) vectors)" : "MSI (\(vectors.count) vectors)"
        } else if details.irq != nil, boundDriver(bdf) != nil {
            details.interrupts = "INTx"
        }
        if let group = try? FileManager.default.destinationOfSymbolicLink(atPath: path + "/iommu_group") {
            details.iommuGroup = group.split(separator: "/").last.flatMap { Int($0) }
        }
        return details
    }

    /// A file of /sys/bus/pci/devices/<BDF>/drvproxy/, there while the
    /// device is bound to drvproxy.
    public func drvproxyAttribute(_ bdf: String, _ name: String) -> String? {
        read(devicePath(bdf) + "/drvproxy/\(name)")
    }

    public func read(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingWhitespace()
    }

    /// One write(2) of the whole text, as sysfs attributes want it.
    public func write(_ text: String, to path: String) throws(WriteError) {
        let file: Descriptor
        do {
            file = try Descriptor.open(path, flags: O_WRONLY | O_TRUNC)  // as the shell's ">" does
        } catch {
            throw WriteError(description: "cannot \(error)")
        }
        let bytes = Array(text.utf8)
        let what = "cannot write \"\(text.trimmingWhitespace())\" to \(path)"
        // One write(2): a sysfs attribute takes the text whole or not at all.
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(SystemCallError) in try file.write(buffer) } }
        let written: Int
        switch result {
        case .success(let n): written = n
        case .failure(let error): throw WriteError(description: "\(what): \(error.errno)")
        }
        guard written == bytes.count else { throw WriteError(description: "\(what): short write") }
    }
}

/// Moves a device to drvproxy and back, remembering what it had before.
public struct DeviceBinder: Sendable {
    public let sysfs: Sysfs

    public init(sysfs: Sysfs) {
        self.sysfs = sysfs
    }

    /// What to put back on unload.
    public struct Previous: Equatable, Sendable {
        public var driver: String?
        public var driverOverride: String?

        public init(driver: String?, driverOverride: String?) {
            self.driver = driver
            self.driverOverride = driverOverride
        }
    }

    /// Unbinds the current driver, sets driver_override and binds drvproxy.
    /// A device already on drvproxy is left as it is.
    public func bindToDrvproxy(_ bdf: String) throws(Sysfs.WriteError) -> Previous {
        let previous = Previous(driver: sysfs.boundDriver(bdf), driverOverride: sysfs.driverOverride(bdf))
        if previous.driver == "drvproxy" { return previous }
        if previous.driver != nil {
            try sysfs.write(bdf, to: sysfs.devicePath(bdf) + "/driver/unbind")
        }
        try sysfs.write("drvproxy", to: sysfs.devicePath(bdf) + "/driver_override")
        do {
            try sysfs.write(bdf, to: sysfs.driverPath("drvproxy") + "/bind")
        } catch {
            // Leave the device as it was found, as far as possible.
            restore(bdf, previous)
            throw error
        }
        return previous
    }

    /// Unbinds drvproxy and re-binds the previous driver (driver_override
    /// then bind, which works for drivers that match by id and for those
    /// like uio_pci_generic that only take overridden devices), then puts
    /// the previous driver_override back. Returns what went wrong, if anything.
    @discardableResult
    public func restore(_ bdf: String, _ previous: Previous) -> [String] {
        var problems: [String] = []
        func attempt(_ text: String, _ path: String) {
            do { try sysfs.write(text, to: path) } catch { problems.append(error.description) }
        }
        if previous.driver == "drvproxy" { return problems }
        if sysfs.boundDriver(bdf) == "drvproxy" {
            attempt(bdf, sysfs.driverPath("drvproxy") + "/unbind")
        }
        if let driver = previous.driver {
            attempt(driver, sysfs.devicePath(bdf) + "/driver_override")
            attempt(bdf, sysfs.driverPath(driver) + "/bind")
        }
        // "\n" clears an override.
        attempt(previous.driverOverride ?? "\n", sysfs.devicePath(bdf) + "/driver_override")
        return problems
    }
}

private extension String {
    /// Without the spaces and line ends around it (sysfs ends values with \n).
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
