import CDrvHost
import Glibc

/// DMA for the host table: the mask, and buffers the plugin allocates and
/// frees (all of them freed at detach or a failed attach).
extension Instance {
    func setDMAMask(_ bits: UInt32) -> Int32 {
        guard (12...64).contains(bits) else { return DH_ERR_INVALID }
        do {
            try device.setDMAMask(bits: bits)
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): \(error)")
            return DH_ERR_IO
        }
    }

    func allocateDMA(_ size: UInt64, _ out: UnsafeMutablePointer<dh_dma_buffer>?) -> Int32 {
        guard let out, size > 0, size <= UInt64(DRVPROXY_MAX_DMA_SIZE) else { return DH_ERR_INVALID }
        guard dmaBuffers.count < Int(DRVPROXY_MAX_DMA_BUFFERS) else { return DH_ERR_NO_MEMORY }
        do {
            let buffer = try device.allocateDMA(size: size)
            dmaBuffers[buffer.id] = buffer
            // The handle is the buffer id + 1, so that it is never NULL.
            out.pointee = dh_dma_buffer(handle: OpaquePointer(bitPattern: UInt(buffer.id) + 1), cpu: buffer.cpu,
                                        bus_addr: buffer.busAddress, size: buffer.size)
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): \(error)")
            return error.code == ENOMEM ? DH_ERR_NO_MEMORY : DH_ERR_IO
        }
    }

    func freeDMA(_ handle: OpaquePointer?) -> Int32 {
        // A handle is a buffer id + 1 (never 0); anything that does not
        // convert back exactly (NULL, above UInt32.max + 1) names no buffer,
        // and must not alias one by truncation.
        guard let handle, let id = UInt32(exactly: UInt(bitPattern: handle) - 1) else { return DH_ERR_NOT_FOUND }
        guard let buffer = dmaBuffers.removeValue(forKey: id) else { return DH_ERR_NOT_FOUND }
        do {
            try device.freeDMA(buffer)
            return DH_OK
        } catch {
            return DH_ERR_IO
        }
    }

    func freeAllDMA() {
        for buffer in dmaBuffers.values { try? device.freeDMA(buffer) }
        dmaBuffers.removeAll()
    }
}
