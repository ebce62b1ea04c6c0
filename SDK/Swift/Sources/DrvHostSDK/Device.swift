import CDrvHostSDK

/// The attached device, through driverhost's host table. Valid from your
/// driver's init until detach() returns. All calls on the loop thread.
///
/// Registers always go through the host (traced; the only way on devsim,
/// whose registers have side effects in the model). `mappedBAR` offers the
/// direct mapping where there is one (the real proxy) for hot paths.
public struct Device {
    let host: UnsafePointer<dh_host>
    let instance: OpaquePointer

    init(host: UnsafePointer<dh_host>, instance: OpaquePointer) {
        self.host = host
        self.instance = instance
    }

    // MARK: Registers

    public func read8(bar: UInt32, _ offset: UInt64) -> UInt8 { host.pointee.read8(instance, bar, offset) }
    public func read16(bar: UInt32, _ offset: UInt64) -> UInt16 { host.pointee.read16(instance, bar, offset) }
    public func read32(bar: UInt32, _ offset: UInt64) -> UInt32 { host.pointee.read32(instance, bar, offset) }
    public func read64(bar: UInt32, _ offset: UInt64) -> UInt64 { host.pointee.read64(instance, bar, offset) }
    public func write8(bar: UInt32, _ offset: UInt64, _ value: UInt8) { host.pointee.write8(instance, bar, offset, value) }
    public func write16(bar: UInt32, _ offset: UInt64, _ value: UInt16) { host.pointee.write16(instance, bar, offset, value) }
    public func write32(bar: UInt32, _ offset: UInt64, _ value: UInt32) { host.pointee.write32(instance, bar, offset, value) }
    public func write64(bar: UInt32, _ offset: UInt64, _ value: UInt64) { host.pointee.write64(instance, bar, offset, value) }

    /// The BAR mapped into this process, or nil where there is no mapping
    /// (simulated device, I/O BAR): then use read/write.
    public func mappedBAR(_ bar: UInt32) -> UnsafeMutableRawBufferPointer? {
        var base: UnsafeMutableRawPointer?
        var size: UInt64 = 0
        let status = host.pointee.bar_pointer(instance, bar, &base, &size)
        guard status == DH_OK, let base else { return nil }
        return UnsafeMutableRawBufferPointer(start: base, count: Int(size))
    }

    // MARK: DMA

    /// A coherent DMA buffer: `bytes` for the CPU, `busAddress` for the device.
    public struct DMABuffer {
        let handle: OpaquePointer?
        public let bytes: UnsafeMutableRawBufferPointer
        public let busAddress: UInt64
    }

    public func setDMAMask(bits: UInt32) throws(DriverError) {
        try DriverError.check(host.pointee.dma_set_mask(instance, bits))
    }

    public func allocateDMA(size: UInt64) throws(DriverError) -> DMABuffer {
        var buffer = dh_dma_buffer()
        try DriverError.check(host.pointee.dma_alloc(instance, size, &buffer))
        return DMABuffer(handle: buffer.handle, bytes: UnsafeMutableRawBufferPointer(start: buffer.cpu, count: Int(buffer.size)),
                         busAddress: buffer.bus_addr)
    }

    /// The device must no longer use the buffer.
    public func free(_ buffer: DMABuffer) {
        _ = host.pointee.dma_free(instance, buffer.handle)
    }

    // MARK: Events, state, information

    /// Deliver device events to interrupt() for at most `timeoutNs`; true
    /// once at least one was delivered. For init and commands that wait for
    /// the device (not allowed inside interrupt()).
    public func waitEvents(timeoutNs: UInt64) throws(DriverError) -> Bool {
        let status = host.pointee.wait_events(instance, timeoutNs)
        if status == DH_ERR_TIMEOUT { return false }
        try DriverError.check(status)
        return true
    }

    /// Re-enable the interrupt (INTx-disable mode, or after a storm mask).
    public func unmask() throws(DriverError) {
        try DriverError.check(host.pointee.unmask(instance))
    }

    /// Keep up to 4 KiB for the next attach of this instance (after a crash too).
    public func saveState(_ bytes: [UInt8]) throws(DriverError) {
        try DriverError.check(bytes.withUnsafeBytes { host.pointee.state_save(instance, $0.baseAddress, UInt32($0.count)) })
    }

    /// What the previous attach saved, or nil.
    public func loadState() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: Int(DH_STATE_MAX))
        var size: UInt32 = 0
        let status = buffer.withUnsafeMutableBytes { host.pointee.state_load(instance, $0.baseAddress, UInt32($0.count), &size) }
        return status == DH_OK ? Array(buffer.prefix(Int(size))) : nil
    }

    /// PCI address, ids, restart count, BAR sizes.
    public var info: dh_instance_info {
        var info = dh_instance_info()
        info.struct_size = UInt32(MemoryLayout<dh_instance_info>.size)
        _ = host.pointee.instance_info(instance, &info)
        return info
    }

    public enum LogLevel: Int32 {
        case error = 0, warning, info, debug
    }

    public func log(_ level: LogLevel, _ message: String) {
        host.pointee.log(instance, level.rawValue, message)
    }
}
