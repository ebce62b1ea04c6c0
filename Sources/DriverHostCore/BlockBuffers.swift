import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// The block class's I/O buffers: one slot of max_transfer bytes per
/// (queue, tag), in DMA memory taken through the instance: it counts
/// against the proxy's limits, and the instance frees it with its other
/// buffers after the plugin's detach, when the device no longer uses it.
/// Slots never straddle buffers.
///
/// ublk copies the block layer's data straight into and out of a slot (at
/// FETCH and COMMIT, see cdh_ublk_fetch), so the device transfers to and
/// from it with no copy in user space, wherever the kernel can pin the
/// slot's pages. It cannot where the DMA mapping is VM_PFNMAP
/// (dma_mmap_coherent without an IOMMU): there each slot gets a bounce slot
/// in ordinary memory that ublk copies to and from, and the class copies
/// between it and the DMA slot (`bounced`).
///
/// A class with `let` arrays: the per-request path reads them with no
/// exclusivity check or copy-on-write test.
final class BlockBuffers {
    let cpu: [UnsafeMutableRawPointer]
    let bus: [UInt64]
    /// Where ublk copies a slot's data: the DMA slot itself, or its bounce slot.
    let ublk: [UnsafeMutableRawPointer]
    let bounced: Bool
    private let bounce: (base: UnsafeMutableRawPointer, length: Int)?

    init(instance: Instance, slots: Int, slotSize: UInt32) throws(HostFailure) {
        let bufferSize = UInt64(DRVPROXY_MAX_DMA_SIZE)
        let perBuffer = Int(bufferSize / UInt64(slotSize))
        var cpu: [UnsafeMutableRawPointer] = [], bus: [UInt64] = []
        cpu.reserveCapacity(slots)
        bus.reserveCapacity(slots)
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
        self.cpu = cpu
        self.bus = bus
        bounced = cdh_pages_pinnable(cpu[0], Int(slotSize)) == 0
        guard bounced else {
            ublk = cpu
            bounce = nil
            return
        }
        // Not populated: a restart makes these while the disk waits, and
        // zeroing every page of every slot (most requests use a slot's
        // first pages only) would lengthen each crash's stall; ublk faults
        // a page in when it first copies into it.
        let length = slots * Int(slotSize)
        let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let base, base != MAP_FAILED else {
            throw HostFailure(.deviceClassFailed, "block class: cannot map \(length) bytes of bounce buffers: \(SystemCallError(errno, call: "mmap"))")
        }
        bounce = (base, length)
        ublk = (0..<slots).map { base + $0 * Int(slotSize) }
    }

    /// Unmaps the bounce slots (the DMA slots are the instance's).
    deinit {
        if let bounce { munmap(bounce.base, bounce.length) }
    }
}
