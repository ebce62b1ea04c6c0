import CDrvHost

/// The dh_host table: C function pointers that find their Instance from the
/// opaque handle and forward to it. No closure captures anything.
enum HostTable {
    static func make() -> dh_host {
        var host = dh_host()
        host.abi_major = UInt32(DH_ABI_MAJOR)
        host.abi_minor = UInt32(DH_ABI_MINOR)
        host.struct_size = UInt32(MemoryLayout<dh_host>.size)
        // Every argument comes from a plugin and may be hostile: a handle
        // that is NULL or made up, an index or size out of range, a NULL
        // out-pointer. Each is checked here or in the Instance method it
        // forwards to, and answers an error (DH_ERR_INVALID unless plugin.h
        // says otherwise): a plugin bug must never trap the host.
        host.log = { inst, level, message in
            guard let message else { return }
            Instance.with(inst, invalid: ()) { instance in
                let level = Log.Level(rawValue: min(max(level, 0), Log.Level.debug.rawValue)) ?? .debug
                instance.log(level, "\(instance.descriptor.name): \(String(cString: message))")
            }
        }
        host.read8 = { inst, bar, offset in Instance.with(inst, invalid: ~0) { UInt8(truncatingIfNeeded: $0.readRegister(bar, offset, width: 1)) } }
        host.read16 = { inst, bar, offset in Instance.with(inst, invalid: ~0) { UInt16(truncatingIfNeeded: $0.readRegister(bar, offset, width: 2)) } }
        host.read32 = { inst, bar, offset in Instance.with(inst, invalid: ~0) { UInt32(truncatingIfNeeded: $0.readRegister(bar, offset, width: 4)) } }
        host.read64 = { inst, bar, offset in Instance.with(inst, invalid: ~0) { $0.readRegister(bar, offset, width: 8) } }
        host.write8 = { inst, bar, offset, value in Instance.with(inst, invalid: ()) { $0.writeRegister(bar, offset, width: 1, value: UInt64(value)) } }
        host.write16 = { inst, bar, offset, value in Instance.with(inst, invalid: ()) { $0.writeRegister(bar, offset, width: 2, value: UInt64(value)) } }
        host.write32 = { inst, bar, offset, value in Instance.with(inst, invalid: ()) { $0.writeRegister(bar, offset, width: 4, value: UInt64(value)) } }
        host.write64 = { inst, bar, offset, value in Instance.with(inst, invalid: ()) { $0.writeRegister(bar, offset, width: 8, value: value) } }
        host.bar_pointer = { inst, bar, base, size in
            // Both out-pointers are required: DH_OK with nowhere to put the
            // answer would leave the plugin reading its own garbage.
            guard let base, let size else { return DH_ERR_INVALID }
            let (status, pointer, length) = Instance.with(inst, invalid: (DH_ERR_INVALID, nil, 0)) { $0.barPointer(bar) }
            if status == DH_OK {
                base.pointee = UnsafeMutableRawPointer(pointer)
                size.pointee = length
            }
            return status
        }
        host.dma_set_mask = { inst, bits in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.setDMAMask(bits) } }
        host.dma_alloc = { inst, size, out in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.allocateDMA(size, out) } }
        host.dma_free = { inst, handle in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.freeDMA(handle) } }
        host.unmask = { inst in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.unmask() } }
        host.timer_start = { inst, id, first, period in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.startTimer(id, first: first, period: period) } }
        host.timer_stop = { inst, id in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.stopTimer(id) } }
        host.state_save = { inst, data, size in
            guard size == 0 || data != nil else { return DH_ERR_INVALID }
            return Instance.with(inst, invalid: DH_ERR_INVALID) { $0.state.save(UnsafeRawBufferPointer(start: data, count: Int(size))) }
        }
        host.state_load = { inst, buffer, capacity, size in
            guard let size else { return DH_ERR_INVALID }
            return Instance.with(inst, invalid: DH_ERR_INVALID) { instance in
                var length: UInt32 = 0
                let status = instance.state.load(
                    into: UnsafeMutableRawBufferPointer(start: buffer, count: buffer == nil ? 0 : Int(capacity)), size: &length)
                size.pointee = length
                return status
            }
        }
        host.instance_info = { inst, info in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.fillInfo(info) } }
        host.wait_events = { inst, timeout in Instance.with(inst, invalid: DH_ERR_INVALID) { $0.waitEvents(timeoutNs: timeout) } }
        host.get_extension = { inst, id in
            guard let id else { return nil }
            return Instance.with(inst, invalid: nil) { $0.hostExtension(String(cString: id)) }
        }
        return host
    }

    static func errorName(_ code: Int32) -> String {
        switch code {
        case DH_OK: "DH_OK"
        case DH_ERR_INVALID: "DH_ERR_INVALID"
        case DH_ERR_NO_MEMORY: "DH_ERR_NO_MEMORY"
        case DH_ERR_NOT_SUPPORTED: "DH_ERR_NOT_SUPPORTED"
        case DH_ERR_IO: "DH_ERR_IO"
        case DH_ERR_TIMEOUT: "DH_ERR_TIMEOUT"
        case DH_ERR_STATE: "DH_ERR_STATE"
        case DH_ERR_NOT_FOUND: "DH_ERR_NOT_FOUND"
        case DH_ERR_DEVICE: "DH_ERR_DEVICE"
        default: "error \(code)"
        }
    }
}
