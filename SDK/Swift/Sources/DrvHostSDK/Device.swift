import CDrvHostSDK

/// The attached device, through driverhost's host table. Valid from your
/// driver's init until detach() returns. All calls on the loop thread.
///
/// Registers go through the host (traced; the only way on devsim, whose
/// registers have side effects in the model) or, for hot paths on the real
/// proxy, through `mappedBAR`.
public struct Device {
    let host: UnsafePointer<dh_host>
    let instance: OpaquePointer

    init(host: UnsafePointer<dh_host>, instance: OpaquePointer) {
        self.host = host
        self.instance = instance
    }

    // MARK: Registers

    /// A register through the host: a bad BAR or offset reads all ones, drops
    /// the write, and the host logs it.
    public func read<V: RegisterValue>(_ register: Register<V>) -> V { V.read(self, register.bar, register.offset) }
    public func write<V: RegisterValue>(_ register: Register<V>, _ value: V) { V.write(self, register.bar, register.offset, value) }

    public func read8(bar: UInt32, _ offset: UInt64) -> UInt8 { host.pointee.read8(instance, bar, offset) }
    public func read16(bar: UInt32, _ offset: UInt64) -> UInt16 { host.pointee.read16(instance, bar, offset) }
    public func read32(bar: UInt32, _ offset: UInt64) -> UInt32 { host.pointee.read32(instance, bar, offset) }
    public func read64(bar: UInt32, _ offset: UInt64) -> UInt64 { host.pointee.read64(instance, bar, offset) }
    public func write8(bar: UInt32, _ offset: UInt64, _ value: UInt8) { host.pointee.write8(instance, bar, offset, value) }
    public func write16(bar: UInt32, _ offset: UInt64, _ value: UInt16) { host.pointee.write16(instance, bar, offset, value) }
    public func write32(bar: UInt32, _ offset: UInt64, _ value: UInt32) { host.pointee.write32(instance, bar, offset, value) }
    public func write64(bar: UInt32, _ offset: UInt64, _ value: UInt64) { host.pointee.write64(instance, bar, offset, value) }

    /// The memory BAR mapped into this process, or nil where there is no
    /// mapping (simulated device, I/O BAR): then use read/write.
    public func mappedBAR(_ bar: UInt32) -> MappedBAR? {
        var base: UnsafeMutableRawPointer?
        var size: UInt64 = 0
        let status = host.pointee.bar_pointer(instance, bar, &base, &size)
        guard status == DH_OK, let base else { return nil }
        return MappedBAR(base: base, size: size)
    }

    // MARK: DMA

    /// Narrow the device's DMA addressing (12...64 bits) before allocating.
    public func setDMAMask(bits: UInt32) throws(DriverError) {
        try DriverError.check(host.pointee.dma_set_mask(instance, bits))
    }

    /// A coherent buffer of at least `size` bytes (at most 4 MiB, at most
    /// 64 buffers), page-aligned (its bus address is a multiple of 4096).
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

    // MARK: Events and timers

    /// Deliver device events (and timer expiries) to the driver for at most
    /// `timeout`; true once at least one event was delivered, false if none
    /// came. `.zero` only looks at what is pending. For init and commands
    /// that wait for the device (throws `.state` inside interrupt or timer).
    public func waitEvents(for timeout: Duration) throws(DriverError) -> Bool {
        let status = host.pointee.wait_events(instance, nanoseconds(timeout))
        if status == DH_ERR_TIMEOUT { return false }
        try DriverError.check(status)
        return true
    }

    /// Start timer `id` (0..<16): first expiry after `after`, then every
    /// `every` (nil: once). Restarting a running timer re-arms it. Expiries
    /// call the driver's `timer(_:)` on the loop thread.
    public func startTimer(_ id: Int, after: Duration, every: Duration? = nil) throws(DriverError) {
        guard id >= 0, id < Int(DH_MAX_TIMERS) else { throw .invalid }
        try DriverError.check(host.pointee.timer_start(instance, UInt32(id), max(nanoseconds(after), 1),
                                                       every.map(nanoseconds) ?? 0))
    }

    /// No timer(_:) call for `id` happens after this returns.
    public func stopTimer(_ id: Int) {
        guard id >= 0, id < Int(DH_MAX_TIMERS) else { return }
        _ = host.pointee.timer_stop(instance, UInt32(id))
    }

    /// Re-enable the interrupt (INTx-disable mode, or after a storm mask).
    public func unmask() throws(DriverError) {
        try DriverError.check(host.pointee.unmask(instance))
    }

    // MARK: Saved state, information, log

    /// Keep up to 4096 bytes for the next attach of this instance (after a
    /// crash too); replaces what was saved before.
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

    /// PCI address and ids, restart count, BARs, interrupts.
    public var info: InstanceInfo {
        var raw = dh_instance_info()
        raw.struct_size = UInt32(MemoryLayout<dh_instance_info>.size)
        _ = host.pointee.instance_info(instance, &raw)
        return InstanceInfo(raw)
    }

    /// The host's half of an extension by id ("drvhost.block/1"), or nil if
    /// this host does not offer it to this instance.
    public func hostExtension(_ id: String) -> UnsafeRawPointer? {
        guard host.pointee.struct_size >= UInt32(MemoryLayout<dh_host>.size) else { return nil }
        return host.pointee.get_extension(instance, id)
    }

    public enum LogLevel: Int32 {
        case error = 0, warning, info, debug
    }

    /// One line in the instance's log; control characters are shown escaped.
    public func log(_ level: LogLevel, _ message: String) {
        host.pointee.log(instance, level.rawValue, message)
    }
}

/// Nanoseconds, saturated (negative: 0).
func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    guard seconds >= 0, attoseconds >= 0 else { return 0 }
    let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return .max }
    let (sum, overflow2) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
    return overflow2 ? .max : sum
}
