import CDrvHost

/// The block class's I/O buffers: one slot of max_transfer bytes per
/// (queue, tag), in DMA memory taken through the instance (so it counts
/// against the proxy's limits and is freed with the instance's other
/// buffers). The device transfers straight to and from a slot; ublk copies
/// the block layer's pages into and out of it (UBLK_F_USER_COPY), because a
/// DMA mapping is VM_PFNMAP on a machine without an IOMMU and the kernel
/// cannot pin its pages for ublk's own copy. Slots never straddle buffers.
struct BlockBuffers {
    private(set) var cpu: [UnsafeMutableRawPointer] = []
    private(set) var bus: [UInt64] = []

    init(instance: Instance, slots: Int, slotSize: UInt32) throws(HostFailure) {
        let bufferSize = UInt64(DRVPROXY_MAX_DMA_SIZE)
        let perBuffer = Int(bufferSize / UInt64(slotSize))
        var remaining = slots
        while remaining > 0 {
            let count = min(perBuffer, remaining)
            var buffer = dh_dma_buffer()
            let status = instance.allocateDMA(UInt64(count) * UInt64(slotSize), &buffer)
            guard status == DH_OK, let base = buffer.cpu else {
                throw HostFailure(.deviceClassFailed, "block class: cannot allocate \(slots) I/O buffers of \(slotSize) bytes in DMA memory (\(HostTable.errorName(status)))")
            }
            for i in 0..<count {
                cpu.append(base + i * Int(slotSize))
                bus.append(buffer.bus_addr + UInt64(i) * UInt64(slotSize))
            }
            remaining -= count
        }
    }
}
