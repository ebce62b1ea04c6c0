import DrvHostControl
import Foundation
import HostdCore
import Testing
import DrvHostProtocol

/// A fake PCI tree: libpci reads an `lspci -x` dump (PCI_ACCESS_DUMP) and
/// the kernel drivers come from a sysfs-shaped directory.
struct FakePCI {
    let directory: String
    var dump: String { directory + "/lspci-x.txt" }
    var sysfs: Sysfs { Sysfs(root: directory + "/sys") }

    struct Function {
        var bdf: String            // "00:05.0" as lspci prints it
        var vendor: UInt16, device: UInt16
        var subvendor: UInt16 = 0, subdevice: UInt16 = 0
        var classCode: UInt32      // base << 16 | sub << 8 | prog-if
        var driver: String? = nil
        /// sysfs `resource` lines, `irq`, an IOMMU group and MSI-X vectors.
        var resource: String? = nil
        var irq: Int? = nil
        var iommuGroup: Int? = nil
        var msixVectors = 0
    }

    init(_ functions: [Function]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostd-pci-\(UUID().uuidString)").path
        var text = ""
        for f in functions {
            var config = [UInt8](repeating: 0, count: 64)
            func put16(_ offset: Int, _ v: UInt16) { config[offset] = UInt8(v & 0xff); config[offset + 1] = UInt8(v >> 8) }
            put16(0x00, f.vendor)
            put16(0x02, f.device)
            config[0x09] = UInt8(f.classCode & 0xff)
            config[0x0a] = UInt8((f.classCode >> 8) & 0xff)
            config[0x0b] = UInt8(f.classCode >> 16)
            put16(0x2c, f.subvendor)
            put16(0x2e, f.subdevice)
            text += "\(f.bdf) Device\n"
            for row in stride(from: 0, to: 64, by: 16) {
                text += String(format: "%02x:", row) + config[row..<row + 16].map { String(format: " %02x", $0) }.joined() + "\n"
            }
            text += "\n"
            let full = "0000:" + f.bdf
            let devicePath = directory + "/sys/bus/pci/devices/" + full
            try FileManager.default.createDirectory(atPath: devicePath, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: devicePath + "/driver_override", contents: Data("(null)\n".utf8))
            if let resource = f.resource { try resource.write(toFile: devicePath + "/resource", atomically: false, encoding: .utf8) }
            if let irq = f.irq { try "\(irq)\n".write(toFile: devicePath + "/irq", atomically: false, encoding: .utf8) }
            if let group = f.iommuGroup {
                try FileManager.default.createSymbolicLink(atPath: devicePath + "/iommu_group",
                                                           withDestinationPath: "../../../kernel/iommu_groups/\(group)")
            }
            if f.msixVectors > 0 {
                try FileManager.default.createDirectory(atPath: devicePath + "/msi_irqs", withIntermediateDirectories: true)
                for vector in 0..<f.msixVectors {
                    try "msix\n".write(toFile: devicePath + "/msi_irqs/\(40 + vector)", atomically: false, encoding: .utf8)
                }
            }
            if let driver = f.driver {
                let driverPath = directory + "/sys/bus/pci/drivers/" + driver
                try FileManager.default.createDirectory(atPath: driverPath, withIntermediateDirectories: true)
                for file in ["bind", "unbind"] { _ = FileManager.default.createFile(atPath: driverPath + "/" + file, contents: nil) }
                try FileManager.default.createSymbolicLink(atPath: devicePath + "/driver", withDestinationPath: driverPath)
                _ = FileManager.default.createFile(atPath: devicePath + "/driver/unbind", contents: nil)
            }
        }
        let drvproxy = directory + "/sys/bus/pci/drivers/drvproxy"
        try FileManager.default.createDirectory(atPath: drvproxy, withIntermediateDirectories: true)
        for file in ["bind", "unbind"] { _ = FileManager.default.createFile(atPath: drvproxy + "/" + file, contents: nil) }
        try text.write(toFile: dump, atomically: true, encoding: .utf8)
    }

    func scan() throws -> [DeviceRow] {
        try PCIScanner(dumpFile: dump, idsFile: "/usr/share/misc/pci.ids", sysfs: sysfs).scan()
    }
}

@Suite struct PCIMatchTests {
    static let edu = PluginDescription.Match(vendor: 0x1234, vendorMask: 0xffff, device: 0x11e8, deviceMask: 0xffff,
                                             subvendor: 0, subvendorMask: 0, subdevice: 0, subdeviceMask: 0,
                                             classCode: 0, classMask: 0)

    func fake() throws -> FakePCI {
        try FakePCI([
            .init(bdf: "00:03.0", vendor: 0x8086, device: 0x100e, subvendor: 0x1af4, subdevice: 0x1100,
                  classCode: 0x020000, driver: "e1000"),
            .init(bdf: "00:05.0", vendor: 0x1234, device: 0x11e8, subvendor: 0x1af4, subdevice: 0x1100, classCode: 0x00ff00),
            .init(bdf: "00:06.0", vendor: 0x1234, device: 0x11e8, subvendor: 0x1af4, subdevice: 0x1100,
                  classCode: 0x00ff00, driver: "uio_pci_generic"),
            .init(bdf: "00:07.0", vendor: 0x1b36, device: 0x0010, classCode: 0x010802),
        ])
    }

    @Test func libpciReadsIdsClassesAndNamesFromTheDump() throws {
        let rows = try fake().scan()
        #expect(rows.map(\.bdf) == ["0000:00:03.0", "0000:00:05.0", "0000:00:06.0", "0000:00:07.0"])
        let nic = rows[0]
        #expect(nic.vendor == 0x8086 && nic.device == 0x100e)
        #expect(nic.subvendor == 0x1af4 && nic.subdevice == 0x1100)
        #expect(nic.classCode == 0x020000)
        #expect(nic.vendorName == "Intel Corporation")
        #expect(nic.deviceName == "82540EM Gigabit Ethernet Controller")
        #expect(nic.className == "Ethernet controller")
        #expect(nic.kernelDriver == "e1000")
        #expect(rows[1].kernelDriver == nil)
        // pci.ids knows class 00 but not subclass ff: the base name, without
        // the number libpci appends then.
        #expect(rows[1].className == "Unclassified device")
        #expect(rows[3].classCode == 0x010802)
        #expect(rows[3].className == "Non-Volatile memory controller")
    }

    @Test func drvproxysDMAModeAndResetAreReadForDevicesBoundToIt() throws {
        let pci = try FakePCI([
            .init(bdf: "00:03.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000"),
            .init(bdf: "00:05.0", vendor: 0x1234, device: 0x11e8, classCode: 0x00ff00, driver: "drvproxy"),
        ])
        for bdf in ["0000:00:03.0", "0000:00:05.0"] {  // 03.0: left over, not bound to drvproxy now
            let dir = pci.sysfs.devicePath(bdf) + "/drvproxy"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try "refused\n".write(toFile: dir + "/dma_mode", atomically: false, encoding: .utf8)
            try "0\n".write(toFile: dir + "/reset", atomically: false, encoding: .utf8)
        }
        #expect(try pci.scan().map(\.dmaMode) == [nil, .refused])
        #expect(pci.sysfs.dmaMode("0000:00:05.0") == .refused)
        #expect(pci.sysfs.hasReset("0000:00:05.0") == false)
        try "1\n".write(toFile: pci.sysfs.devicePath("0000:00:05.0") + "/drvproxy/reset", atomically: false, encoding: .utf8)
        #expect(pci.sysfs.hasReset("0000:00:05.0") == true)
        #expect(pci.sysfs.hasReset("0000:00:07.0") == nil)
    }

    @Test func aMissingDumpIsAnErrorNotAnExit() {
        let scanner = PCIScanner(dumpFile: "/nonexistent/dump", sysfs: Sysfs(root: "/nonexistent"))
        #expect(throws: PCIScanner.ScanError.self) { try scanner.scan() }
    }

    @Test func matchTablesUseTheirMasks() throws {
        let rows = try fake().scan()
        let plugin = PluginDescription(name: "edu", version: "1", abi: "1.0", irqMode: "intx-shared",
                                       matches: [Self.edu], commands: [])
        #expect(rows.filter(plugin.drives).map(\.bdf) == ["0000:00:05.0", "0000:00:06.0"])
        // Every NVMe controller, whoever makes it: class 01:08:02 only.
        let nvme = PluginDescription.Match(vendor: 0, vendorMask: 0, device: 0, deviceMask: 0, subvendor: 0, subvendorMask: 0,
                                           subdevice: 0, subdeviceMask: 0, classCode: 0x010802, classMask: 0xffffff)
        #expect(rows.filter(nvme.matches).map(\.bdf) == ["0000:00:07.0"])
        let wrongSubsystem = PluginDescription.Match(vendor: 0x1234, vendorMask: 0xffff, device: 0x11e8, deviceMask: 0xffff,
                                                     subvendor: 0x1af4, subvendorMask: 0xffff, subdevice: 0x1101,
                                                     subdeviceMask: 0xffff, classCode: 0, classMask: 0)
        #expect(rows.filter(wrongSubsystem.matches).isEmpty)
    }

    @Test func boundDevicesAreTakenOnlyWhenClaimed() throws {
        let rows = try fake().scan()
        let policy = DeviceClaimPolicy(claim: ["0000:00:06.0"], ignore: ["0000:00:07.0"])
        #expect(policy.verdict(for: rows[1]) == .take)
        #expect(policy.verdict(for: rows[2]) == .take)
        #expect(policy.verdict(for: rows[0]) == .leave("0000:00:03.0 is bound to e1000 and not in devices.claim"))
        #expect(policy.verdict(for: rows[3]) == .leave("0000:00:07.0 is in devices.ignore"))
    }

    @Test func bindingRemembersAndRestoresThePreviousDriver() throws {
        let pci = try fake()
        let binder = DeviceBinder(sysfs: pci.sysfs)
        let bdf = "0000:00:06.0"
        let device = pci.sysfs.devicePath(bdf)
        let previous = try binder.bindToDrvproxy(bdf)
        #expect(previous == .init(driver: "uio_pci_generic", driverOverride: nil))
        #expect(pci.sysfs.read(device + "/driver/unbind") == bdf)
        #expect(pci.sysfs.read(device + "/driver_override") == "drvproxy")
        #expect(pci.sysfs.read(pci.sysfs.driverPath("drvproxy") + "/bind") == bdf)
        // The fake tree's driver link does not follow the writes: restore
        // sees uio_pci_generic still bound, so it re-binds without unbinding.
        #expect(binder.restore(bdf, previous).isEmpty)
        #expect(pci.sysfs.read(pci.sysfs.driverPath("uio_pci_generic") + "/bind") == bdf)
        #expect(pci.sysfs.read(device + "/driver_override") == "")
    }

    @Test func aFailedBindSaysWhere() throws {
        let pci = try fake()
        try FileManager.default.removeItem(atPath: pci.sysfs.driverPath("drvproxy") + "/bind")
        #expect {
            try DeviceBinder(sysfs: pci.sysfs).bindToDrvproxy("0000:00:05.0")
        } throws: { error in
            "\(error)".contains("drivers/drvproxy/bind") && "\(error)".contains("No such file")
        }
    }

    @Test func devicesCarryWhatLspciVerboseShows() throws {
        let line = { (start: UInt64, size: UInt64, flags: UInt64) in
            String(format: "0x%016llx 0x%016llx 0x%016llx\n", start, start + size - 1, flags)
        }
        let empty = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
        let pci = try FakePCI([
            .init(bdf: "00:03.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000",
                  resource: line(0xfeb80000, 0x20000, 0x40200) + line(0xc000, 0x40, 0x40101) + String(repeating: empty, count: 4),
                  irq: 11, iommuGroup: 2),
            .init(bdf: "00:05.0", vendor: 0x1234, device: 0x11e8, classCode: 0x00ff00, driver: "drvproxy",
                  resource: line(0xfe000000, 0x100000, 0x142204) + String(repeating: empty, count: 5),
                  irq: 11, iommuGroup: 4, msixVectors: 2),
        ])
        defer { try? FileManager.default.removeItem(atPath: pci.directory) }
        let rows = try pci.scan()
        let nic = try #require(rows.first?.details), edu = try #require(rows.last?.details)
        #expect(nic.regions == [.init(index: 0, io: false, size: 0x20000, prefetchable: false, is64Bit: false),
                                .init(index: 1, io: true, size: 0x40, prefetchable: false, is64Bit: false)])
        #expect(nic.irq == 11 && nic.irqSharers == ["0000:00:05.0"] && nic.interrupts == "INTx" && nic.iommuGroup == 2)
        #expect(edu.regions == [.init(index: 0, io: false, size: 0x100000, prefetchable: true, is64Bit: true)])
        #expect(edu.interrupts == "MSI-X (2 vectors)" && edu.iommuGroup == 4 && edu.irqSharers == ["0000:00:03.0"])
    }
}
