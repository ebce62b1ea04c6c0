import CDrvHost

/// Register access for the host table: bounds-checked, through the
/// mapped BAR or the device backend, traced while tracing is on.
extension Instance {
    @inline(__always)
    private func registerBase(_ bar: UInt32, _ offset: UInt64, _ width: UInt64) -> (UnsafeMutableRawPointer?, Bool) {
        guard bar < UInt32(DH_NUM_BARS), offset % width == 0, offset < barSizes[Int(bar)],
              barSizes[Int(bar)] - offset >= width else {
            if !reportedBadAccess {
                reportedBadAccess = true
                log(.error, "plugin \(descriptor.name): bad register access: BAR\(bar) offset 0x\(String(offset, radix: 16)) width \(width) (reported once)")
            }
            return (nil, false)
        }
        return (barBases[Int(bar)], true)
    }

    /// Register access through the host table; traced while tracing is on
    /// (a direct BAR pointer's accesses never are: the host does not see them).
    @inline(__always)
    func readRegister(_ bar: UInt32, _ offset: UInt64, width: UInt64) -> UInt64 {
        let value = readRegisterUntraced(bar, offset, width: width)
        if _slowPath(trace.isOn) { trace.register(write: false, bar: bar, offset: offset, width: width, value: value) }
        return value
    }

    @inline(__always)
    func writeRegister(_ bar: UInt32, _ offset: UInt64, width: UInt64, value: UInt64) {
        if _slowPath(trace.isOn) { trace.register(write: true, bar: bar, offset: offset, width: width, value: value) }
        writeRegisterUntraced(bar, offset, width: width, value: value)
    }

    @inline(__always)
    private func readRegisterUntraced(_ bar: UInt32, _ offset: UInt64, width: UInt64) -> UInt64 {
        let (base, valid) = registerBase(bar, offset, width)
        guard valid else { return ~0 }
        guard let base else { return device.readRegister(bar: Int(bar), offset: offset, width: Int(width)) }
        switch width {
        case 1: return UInt64(cdh_mmio_read8(base, offset))
        case 2: return UInt64(cdh_mmio_read16(base, offset))
        case 4: return UInt64(cdh_mmio_read32(base, offset))
        default: return cdh_mmio_read64(base, offset)
        }
    }

    @inline(__always)
    private func writeRegisterUntraced(_ bar: UInt32, _ offset: UInt64, width: UInt64, value: UInt64) {
        let (base, valid) = registerBase(bar, offset, width)
        guard valid else { return }
        guard let base else {
            device.writeRegister(bar: Int(bar), offset: offset, width: Int(width), value: value)
            return
        }
        switch width {
        case 1: cdh_mmio_write8(base, offset, UInt8(truncatingIfNeeded: value))
        case 2: cdh_mmio_write16(base, offset, UInt16(truncatingIfNeeded: value))
        case 4: cdh_mmio_write32(base, offset, UInt32(truncatingIfNeeded: value))
        default: cdh_mmio_write64(base, offset, value)
        }
    }

    func barPointer(_ bar: UInt32) -> (Int32, UnsafeMutableRawPointer?, UInt64) {
        guard bar < UInt32(DH_NUM_BARS), barSizes[Int(bar)] > 0 else { return (DH_ERR_INVALID, nil, 0) }
        guard let base = barBases[Int(bar)] else { return (DH_ERR_NOT_SUPPORTED, nil, 0) }
        return (DH_OK, base, barSizes[Int(bar)])
    }
}
