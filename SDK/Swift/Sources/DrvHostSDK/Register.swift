import CDrvHostSDK

/// A register's width: UInt8, UInt16, UInt32 or UInt64.
public protocol RegisterValue: FixedWidthInteger & UnsignedInteger {
    static func read(_ device: Device, _ bar: UInt32, _ offset: UInt64) -> Self
    static func write(_ device: Device, _ bar: UInt32, _ offset: UInt64, _ value: Self)
    static func load(_ base: UnsafeMutableRawPointer, _ offset: UInt64) -> Self
    static func store(_ base: UnsafeMutableRawPointer, _ offset: UInt64, _ value: Self)
}

/// One device register: where it is and how wide, declared once:
///
///     enum Regs { static let status = Register<UInt32>(bar: 0, 0x20) }
///     let s = device.read(Regs.status)
///     device.write(Regs.status, s | 0x80)
public struct Register<Value: RegisterValue>: Sendable {
    public let bar: UInt32
    public let offset: UInt64
    public init(bar: UInt32 = 0, _ offset: UInt64) {
        self.bar = bar
        self.offset = offset
    }
}

extension UInt8: RegisterValue {
    public static func read(_ d: Device, _ bar: UInt32, _ offset: UInt64) -> Self { d.host.pointee.read8(d.instance, bar, offset) }
    public static func write(_ d: Device, _ bar: UInt32, _ offset: UInt64, _ v: Self) { d.host.pointee.write8(d.instance, bar, offset, v) }
    public static func load(_ base: UnsafeMutableRawPointer, _ offset: UInt64) -> Self { cdhs_mmio_read8(base, offset) }
    public static func store(_ base: UnsafeMutableRawPointer, _ offset: UInt64, _ v: Self) { cdhs_mmio_write8(base, offset, v) }
}

extension UInt16: RegisterValue {
    public static func read(_ d: Device, _ bar: UInt32, _ offset: UInt64) -> Self { d.host.pointee.read16(d.instance, bar, offset) }
    public static func write(_ d: Device, _ bar: UInt32, _ offset: UInt64, _ v: Self) { d.host.pointee.write16(d.instance, bar, offset, v) }
    public static func load(_ base: UnsafeMutableRawPointer, _ offset: UInt64) -> Self { cdhs_mmio_read16(base, offset) }
    public static func store(_ base: UnsafeMutableRawPointer, _ offset: UInt64, _ v: Self) { cdhs_mmio_write16(base, offset, v) }
}

extension UInt32: RegisterValue {
    public static func read(_ d: Device, _ bar: UInt32, _ offset: UInt64) -> Self { d.host.pointee.read32(d.instance, bar, offset) }
    public static func write(_ d: Device, _ bar: UInt32, _ offset: UInt64, _ v: Self) { d.host.pointee.write32(d.instance, bar, offset, v) }
    public static func load(_ base: UnsafeMutableRawPointer, _ offset: UInt64) -> Self { cdhs_mmio_read32(base, offset) }
    public static func store(_ base: UnsafeMutableRawPointer, _ offset: UInt64, _ v: Self) { cdhs_mmio_write32(base, offset, v) }
}

extension UInt64: RegisterValue {
    public static func read(_ d: Device, _ bar: UInt32, _ offset: UInt64) -> Self { d.host.pointee.read64(d.instance, bar, offset) }
    public static func write(_ d: Device, _ bar: UInt32, _ offset: UInt64, _ v: Self) { d.host.pointee.write64(d.instance, bar, offset, v) }
    public static func load(_ base: UnsafeMutableRawPointer, _ offset: UInt64) -> Self { cdhs_mmio_read64(base, offset) }
    public static func store(_ base: UnsafeMutableRawPointer, _ offset: UInt64, _ v: Self) { cdhs_mmio_write64(base, offset, v) }
}

/// A memory BAR mapped into the process (`Device.mappedBAR`), for hot
/// paths on the real proxy: a register access is one load or store instead
/// of a call into the host (no bounds check, no trace). Valid until detach
/// returns. Offsets are checked against the BAR in debug builds only.
public struct MappedBAR {
    let base: UnsafeMutableRawPointer
    public let size: UInt64

    public func read<V: RegisterValue>(_ register: Register<V>) -> V { read(V.self, at: register.offset) }

    /// Like Linux's writel(): earlier writes to DMA memory reach memory
    /// before this register write does (a doorbell sees the descriptors).
    public func write<V: RegisterValue>(_ register: Register<V>, _ value: V) {
        cdhs_dma_write_barrier()
        write(value, at: register.offset)
    }

    /// Without the DMA barrier (writel_relaxed()): for registers that start nothing.
    public func writeRelaxed<V: RegisterValue>(_ register: Register<V>, _ value: V) { write(value, at: register.offset) }

    public func read<V: RegisterValue>(_ type: V.Type, at offset: UInt64) -> V {
        assert(offset % UInt64(V.bitWidth / 8) == 0 && offset + UInt64(V.bitWidth / 8) <= size, "register \(offset) outside the BAR")
        return V.load(base, offset)
    }

    public func write<V: RegisterValue>(_ value: V, at offset: UInt64) {
        assert(offset % UInt64(V.bitWidth / 8) == 0 && offset + UInt64(V.bitWidth / 8) <= size, "register \(offset) outside the BAR")
        V.store(base, offset, value)
    }
}
