import CHostd
import DrvHostControl
import FoundationEssentials

/// PCI devices as libpci sees them (ids, subsystem ids, class, names from
/// pci.ids), with the kernel driver each is bound to read from sysfs, and
/// drvproxy's DMA mode for those bound to it.
public struct PCIScanner: Sendable {
    public var dumpFile: String?
    public var idsFile: String?
    public var sysfs: Sysfs

    public init(dumpFile: String? = nil, idsFile: String? = nil, sysfs: Sysfs) {
        self.dumpFile = dumpFile
        self.idsFile = idsFile
        self.sysfs = sysfs
    }

    public struct ScanError: Error, CustomStringConvertible {
        public var description: String
    }

    public func scan() throws(ScanError) -> [DeviceRow] {
        let capacity = 1024
        var found = [chd_pci_device](repeating: chd_pci_device(), count: capacity)
        var message = [CChar](repeating: 0, count: 256)
        let count = found.withUnsafeMutableBufferPointer { out in
            chd_pci_scan(dumpFile, idsFile, out.baseAddress, Int32(capacity), &message, message.count)
        }
        guard count >= 0 else { throw ScanError(description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        return found.prefix(min(Int(count), capacity)).map { d in
            var d = d
            let bdf = PCIScanner.text(&d.bdf)
            func name<T>(_ field: inout T) -> String? {
                let s = PCIScanner.text(&field)
                return s.isEmpty ? nil : s
            }
            let driver = sysfs.boundDriver(bdf)
            var row = DeviceRow(bdf: bdf, vendor: d.vendor, device: d.device, subvendor: d.subvendor,
                                subdevice: d.subdevice, classCode: d.class_code,
                                vendorName: name(&d.vendor_name), deviceName: name(&d.device_name),
                                className: name(&d.class_name), kernelDriver: driver,
                                dmaMode: driver == "drvproxy" ? sysfs.dmaMode(bdf) : nil)
            row.details = sysfs.details(bdf)
            return row
        }.sorted { $0.bdf < $1.bdf }.withIRQSharers()
    }

    /// A NUL-terminated C array field (imported as a tuple) as a String.
    static func text<T>(_ field: inout T) -> String {
        withUnsafeBytes(of: &field) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension Array where Element == DeviceRow {
    /// Each device's IRQ sharers: the others on the same INTx line.
    func withIRQSharers() -> [DeviceRow] {
        map { row in
            guard let irq = row.details?.irq else { return row }
            var row = row
            row.details?.irqSharers = filter { $0.bdf != row.bdf && $0.details?.irq == irq }.map(\.bdf)
            return row
        }
    }
}
