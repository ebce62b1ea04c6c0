import CDrvHostSDK

/// A coherent DMA buffer (Device.allocateDMA): `busAddress` for the
/// device, typed accessors for the CPU. The device sees CPU writes without
/// any flush (coherent); order them before the register write that tells
/// the device to look (MappedBAR.write and the host's writes do; see
/// plugin.h "Numbers" for the rules). Valid until `Device.free`.
public struct DMABuffer {
    let handle: OpaquePointer?
    /// The raw memory, for what the accessors below do not cover.
    public let bytes: UnsafeMutableRawBufferPointer
    public let busAddress: UInt64
    public var count: Int { bytes.count }

    public subscript(offset: Int) -> UInt8 {
        get { bytes[offset] }
        nonmutating set { bytes[offset] = newValue }
    }

    /// A little-endian integer at `offset` (descriptor rings, status words).
    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "\(offset) outside the DMA buffer")
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    public func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= bytes.count, "\(offset) outside the DMA buffer")
        bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
    }

    public func copy(_ source: [UInt8], to offset: Int) {
        precondition(offset >= 0 && offset + source.count <= bytes.count, "\(offset)+\(source.count) outside the DMA buffer")
        for (i, byte) in source.enumerated() { bytes[offset + i] = byte }
    }

    public func read(_ range: Range<Int>) -> [UInt8] { Array(bytes[range]) }
}
