import CDrvHost
import DrvHostSystem

/// The rest of the host table: unmask, timers, the instance's identity and
/// waiting for events inside a command.
extension Instance {
    func unmask() -> Int32 {
        do {
            try device.unmask()
            return DH_OK
        } catch {
            return DH_ERR_IO
        }
    }

    func startTimer(_ id: UInt32, first: UInt64, period: UInt64) -> Int32 {
        guard id < UInt32(DH_MAX_TIMERS), first > 0 else { return DH_ERR_INVALID }
        guard descriptor.raw.timer != nil else { return DH_ERR_NOT_SUPPORTED }
        do {
            if timers[Int(id)] == nil {
                let timer = Descriptor(taking: try systemCall("timerfd_create") { cdh_timerfd_create() })
                try loop.addTimer(timer, id: id)
                timers[Int(id)] = timer
            }
            _ = try systemCall("timerfd_settime") { cdh_timerfd_set(timers[Int(id)]!.raw, first, period) }
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): timer \(id): \(error)")
            return DH_ERR_IO
        }
    }

    @discardableResult
    func stopTimer(_ id: UInt32) -> Int32 {
        guard id < UInt32(DH_MAX_TIMERS) else { return DH_ERR_INVALID }
        if let timer = timers[Int(id)] {
            // Disarming also clears expirations not yet read.
            _ = cdh_timerfd_set(timer.raw, 0, 0)
        }
        return DH_OK
    }

    func fillInfo(_ out: UnsafeMutablePointer<dh_instance_info>?) -> Int32 {
        guard let out else { return DH_ERR_INVALID }
        let wanted = Int(out.pointee.struct_size)
        guard wanted >= MemoryLayout<UInt32>.size else { return DH_ERR_INVALID }
        var info = dh_instance_info()
        let device = self.device.info
        info.struct_size = UInt32(min(wanted, MemoryLayout<dh_instance_info>.size))
        info.pci_domain = identity.domain
        info.pci_bus = identity.bus
        info.pci_slot = identity.slot
        info.pci_function = identity.function
        info.restart_count = identity.restartCount
        info.vendor = device.vendor
        info.device = device.device
        info.subvendor = device.subvendor
        info.subdevice = device.subdevice
        info.class_code = device.classCode
        info.irq_mode = irqMode
        info.irq_vectors = irqVectors
        info.dma_mask_bits = device.dmaMaskBits
        withUnsafeMutableBytes(of: &info.bar_size) { bytes in
            for (i, size) in barSizes.prefix(Int(DH_NUM_BARS)).enumerated() {
                bytes.storeBytes(of: size, toByteOffset: i * 8, as: UInt64.self)
            }
        }
        withUnsafeMutableBytes(of: &info.bar_kind) { kinds in
            for (i, bar) in device.bars.prefix(Int(DH_NUM_BARS)).enumerated() where barSizes[i] > 0 {
                kinds[i] = UInt8(bar.isMemory ? DH_BAR_MEMORY : DH_BAR_IO)
            }
        }
        info.irq_line = device.irqLine
        info.msix_vectors = device.msixVectors
        let filled = Int(info.struct_size)
        withUnsafeBytes(of: &info) { source in
            UnsafeMutableRawPointer(out).copyMemory(from: source.baseAddress!, byteCount: filled)
        }
        return DH_OK
    }

    func waitEvents(timeoutNs: UInt64) -> Int32 {
        guard !inEventCallback else { return DH_ERR_STATE }
        guard !loop.hasDeviceError else { return DH_ERR_IO }
        do {
            let delivered = try loop.waitNested(timeoutNs: timeoutNs)
            if loop.hasDeviceError { return DH_ERR_IO }
            return delivered > 0 ? DH_OK : DH_ERR_TIMEOUT
        } catch {
            log(.error, "wait_events: \(error)")
            return DH_ERR_IO
        }
    }
}
