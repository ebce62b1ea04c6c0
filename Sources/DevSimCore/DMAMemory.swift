import CDevSim
import Glibc
import DrvHostSystem

/// The owner's DMA buffers: memfd pages mapped here (for the model's bus
/// master accesses) and, through the descriptor sent with the answer, in the
/// owner. Bus addresses are handed out page-aligned above 1 MiB, inside the
/// owner's DMA mask, never reused while devsim runs, so a stale address
/// from a dead owner can never reach a new owner's buffer.
struct DMAMemory {
    struct Buffer {
        let id: UInt32
        let busAddress: UInt64
        let size: UInt64
        let cpu: UnsafeMutableRawPointer
    }

    static let firstBusAddress: UInt64 = 0x10_0000
    private(set) var buffers: [UInt32: Buffer] = [:]
    private var nextBusAddress = DMAMemory.firstBusAddress

    var count: Int { buffers.count }

    /// A new buffer and the memfd the owner maps; errno values as the ioctl's.
    mutating func allocate(size: UInt64, maskBits: UInt32) -> Result<(Buffer, Int32), DevSimError> {
        guard size > 0, size <= UInt64(DRVPROXY_MAX_DMA_SIZE) else { return .failure(.errno(EINVAL)) }
        guard buffers.count < Int(DRVPROXY_MAX_DMA_BUFFERS),
              let id = (0..<UInt32(DRVPROXY_MAX_DMA_BUFFERS)).first(where: { buffers[$0] == nil }) else {
            return .failure(.errno(ENOSPC))
        }
        let rounded = (size + 4095) & ~4095
        let limit: UInt64 = maskBits >= 64 ? .max : (1 << UInt64(maskBits))
        guard nextBusAddress <= limit, limit - nextBusAddress >= rounded else { return .failure(.errno(ENOMEM)) }
        let fd = cds_memfd("devsim-dma", rounded)
        guard fd >= 0 else { return .failure(.errno(SystemCallError.last("memfd_create").code)) }
        guard let cpu = mmap(nil, Int(rounded), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), cpu != MAP_FAILED else {
            let error = SystemCallError.last("mmap")
            close(fd)
            return .failure(.errno(error.code))
        }
        let buffer = Buffer(id: id, busAddress: nextBusAddress, size: rounded, cpu: cpu)
        nextBusAddress += rounded
        buffers[id] = buffer
        return .success((buffer, fd))
    }

    mutating func free(id: UInt32) -> Bool {
        guard let buffer = buffers.removeValue(forKey: id) else { return false }
        munmap(buffer.cpu, Int(buffer.size))
        return true
    }

    mutating func freeAll() {
        for id in Array(buffers.keys) { _ = free(id: id) }
    }

    /// The host memory behind [busAddress, busAddress + length), if it lies
    /// inside one buffer.
    func translate(_ busAddress: UInt64, length: Int) -> UnsafeMutableRawPointer? {
        for buffer in buffers.values where busAddress >= buffer.busAddress {
            let offset = busAddress - buffer.busAddress
            if offset <= buffer.size, UInt64(length) <= buffer.size - offset {
                return buffer.cpu + Int(offset)
            }
        }
        return nil
    }
}

/// A refusal, as the kernel would give it: an errno for the answer's status.
enum DevSimError: Error {
    case errno(Int32)

    var code: Int32 {
        switch self { case .errno(let code): code }
    }
}
