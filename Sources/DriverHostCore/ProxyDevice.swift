import CDrvHost
import Glibc
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

/// /dev/drvproxy/<BDF>: the drvproxy kernel module's handle for one device.
public final class ProxyDevice: DeviceBackend {
    public let path: String
    public let info: DeviceInfo
    private let handle: Descriptor
    private var mappings: [(UnsafeMutableRawPointer, Int)] = []

    public static func nodePath(forBDF bdf: String) -> String { "/dev/drvproxy/\(bdf)" }

    /// Opens the device (one owner at a time: EBUSY otherwise) and reads INFO.
    public init(path: String) throws(HostFailure) {
        self.path = path
        do {
            handle = try Descriptor.open(path, flags: O_RDWR | O_NONBLOCK)
        } catch {
            throw ProxyDevice.openFailure(path, error.code)
        }
        var raw = drvproxy_info()
        let fd = handle.raw
        do {
            _ = try systemCall("ioctl INFO") { cdh_proxy_info(fd, &raw) }
        } catch {
            throw HostFailure(.deviceSetupFailed, "\(path): \(error)")
        }
        guard raw.abi_version == UInt32(DRVPROXY_ABI_VERSION) else {
            throw HostFailure(.deviceSetupFailed,
                              "\(path): kernel proxy speaks ABI \(raw.abi_version), driverhost speaks \(DRVPROXY_ABI_VERSION)")
        }
        var info = DeviceInfo(raw)
        info.irqLine = ProxyDevice.irqLine(bdf: String(path.split(separator: "/").last ?? ""))
        self.info = info
    }

    /// sysfs's "irq" of the device: the INTx line's system IRQ, 0 if unknown.
    static func irqLine(bdf: String) -> UInt32 {
        let fd = Glibc.open("/sys/bus/pci/devices/\(bdf)/irq", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return 0 }
        defer { Glibc.close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return 0 }
        return UInt32(String(decoding: bytes.prefix(n), as: UTF8.self).filter(\.isNumber)) ?? 0
    }

    /// Why open() failed, with the exit code a supervisor acts on. EPERM is
    /// drvproxy refusing a device whose DMA no IOMMU confines (ABI 2): no
    /// restart can change that, only the administrator can.
    public static func openFailure(_ path: String, _ code: Int32) -> HostFailure {
        guard code != EPERM else {
            return HostFailure(.dmaNotConfined,
                               "cannot open \(path): DMA cannot be confined (no IOMMU confines this device); drvproxy opens it "
                               + "only with its module parameter allow_unsafe_dma=1 and CAP_SYS_RAWIO, which taints the kernel")
        }
        return HostFailure(.deviceUnavailable, "cannot \(SystemCallError(code, call: "open \(path)"))")
    }

    public var eventDescriptor: Int32 { handle.raw }

    public func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(SystemCallError) -> Int {
        let bytes = UnsafeMutableRawBufferPointer(start: buffer, count: capacity * MemoryLayout<dh_event>.stride)
        guard let n = try handle.read(into: bytes) else { return 0 }
        return n / MemoryLayout<dh_event>.stride
    }

    public func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure) {
        var prog = drvproxy_prog()
        prog.abi_version = UInt32(DRVPROXY_ABI_VERSION)
        prog.kind = kind.rawValue
        prog.flags = flags
        prog.len = UInt32(program.count)
        prog.insns = UInt64(UInt(bitPattern: program.baseAddress))
        if cdh_proxy_set_prog(handle.raw, &prog) != 0 {
            let error = SystemCallError.last("set \(kind) program")
            let reason = error.errno == .invalidArgument
                ? ": \(String(cString: regprog_error_name(prog.error))) at instruction \(prog.error_index)" : ""
            throw HostFailure(.deviceSetupFailed,
                              "\(path): kernel refused the \(kind) program: \(error.errno)\(reason)")
        }
    }

    public func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(SystemCallError) {
        var irq = drvproxy_irq()
        irq.abi_version = UInt32(DRVPROXY_ABI_VERSION)
        irq.mode = mode
        irq.nvec = max(vectors, 1)
        _ = try systemCall("ioctl SET_IRQ") { cdh_proxy_set_irq(handle.raw, &irq) }
    }

    public func unmask() throws(SystemCallError) {
        _ = try systemCall("ioctl UNMASK") { cdh_proxy_unmask(handle.raw) }
    }

    public func mapBAR(_ index: Int) throws(SystemCallError) -> UnsafeMutableRawPointer? {
        let bar = info.bars[index]
        guard bar.size > 0, bar.isMemory else { return nil }
        let base = try map(size: Int(bar.size), offset: UInt64(index) << UInt64(DRVPROXY_MMAP_SHIFT), what: "mmap BAR\(index)")
        return base
    }

    private func map(size: Int, offset: UInt64, what: String) throws(SystemCallError) -> UnsafeMutableRawPointer {
        let base = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, handle.raw, Int(bitPattern: UInt(offset)))
        guard let base, base != MAP_FAILED else { throw SystemCallError.last(what) }
        mappings.append((base, size))
        return base
    }

    public func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64 { ~0 }  // I/O BARs: not yet
    public func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64) {}

    public func setDMAMask(bits: UInt32) throws(SystemCallError) {
        var mask = drvproxy_dma_mask(abi_version: UInt32(DRVPROXY_ABI_VERSION), bits: bits)
        _ = try systemCall("ioctl DMA_MASK") { cdh_proxy_dma_mask(handle.raw, &mask) }
    }

    public func allocateDMA(size: UInt64) throws(SystemCallError) -> DMAAllocation {
        var alloc = drvproxy_dma_alloc()
        alloc.abi_version = UInt32(DRVPROXY_ABI_VERSION)
        alloc.size = size
        _ = try systemCall("ioctl DMA_ALLOC") { cdh_proxy_dma_alloc(handle.raw, &alloc) }
        let pageRounded = (size + 4095) & ~4095
        let cpu = try map(size: Int(pageRounded), offset: alloc.mmap_offset, what: "mmap DMA buffer")
        return DMAAllocation(id: alloc.id, cpu: cpu, busAddress: alloc.bus_addr, size: pageRounded)
    }

    public func freeDMA(_ allocation: DMAAllocation) throws(SystemCallError) {
        if let i = mappings.firstIndex(where: { $0.0 == allocation.cpu }) {
            munmap(mappings[i].0, mappings[i].1)
            mappings.remove(at: i)
        }
        var release = drvproxy_dma_free(abi_version: UInt32(DRVPROXY_ABI_VERSION), id: allocation.id)
        _ = try systemCall("ioctl DMA_FREE") { cdh_proxy_dma_free(handle.raw, &release) }
    }

    public func setBusMaster(_ enabled: Bool) throws(SystemCallError) {
        var request = drvproxy_bus_master(abi_version: UInt32(DRVPROXY_ABI_VERSION), enable: enabled ? 1 : 0)
        _ = try systemCall("ioctl BUS_MASTER") { cdh_proxy_bus_master(handle.raw, &request) }
    }

    public func close() {
        for (base, size) in mappings { munmap(base, size) }
        mappings.removeAll()
        handle.close()
    }
}
