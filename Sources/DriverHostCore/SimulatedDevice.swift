import CDrvHost
import Glibc
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

/// A stand-in device for host tests and the dispatch benchmark: no kernel
/// module, an eventfd as the interrupt line. It looks like an edu device
/// (1234:11e8, 1 MiB BAR0, INTx); BAR0 is plain memory-backed registers,
/// except that a write to the raise register (0x60) signals the eventfd, and
/// each signal becomes one event whose snap[0] is the value written.
public final class SimulatedDevice: DeviceBackend {
    public static let raiseRegister: UInt64 = 0x60
    public let info: DeviceInfo
    private let line: Descriptor
    private var registers: [UInt64: UInt64] = [:]
    /// Raised values not yet read, a ring: events come out in raise order.
    private static let ringSize = 4096
    private let pending = UnsafeMutablePointer<UInt64>.allocate(capacity: SimulatedDevice.ringSize)
    private var pendingHead = 0
    private var pendingCount = 0
    private var sequence: UInt64 = 0
    private var dmaBuffers: [UInt32: DMAAllocation] = [:]
    private var nextDMA: UInt32 = 1
    public private(set) var installed: [ProgramKind: [dh_insn]] = [:]
    public private(set) var interruptMode: UInt32 = 0
    public private(set) var busMaster = false
    public private(set) var isClosed = false

    public init(info: DeviceInfo = SimulatedDevice.eduLike) throws(SystemCallError) {
        self.info = info
        line = try Descriptor.eventFD()
    }

    /// Its "DMA" is calloc'd memory in this process: confined by construction.
    public static let eduLike = DeviceInfo(
        vendor: 0x1234, device: 0x11e8, classCode: 0x00ff00,
        bars: [.init(size: 1 << 20, isMemory: true)],
        irqKinds: UInt32(DRVPROXY_IRQ_KIND_INTX | DRVPROXY_IRQ_KIND_MSI), dmaMaskBits: 32,
        flags: UInt32(DRVPROXY_INFO_DMA_CONFINED))

    deinit {
        pending.deallocate()
    }

    public var eventDescriptor: Int32 { line.raw }

    public func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(SystemCallError) -> Int {
        let signalled = try line.readCounter()
        guard signalled > 0 else { return 0 }
        let count = min(Int(signalled), capacity, pendingCount)
        for i in 0..<count {
            sequence += 1
            var event = dh_event()
            event.seq = sequence
            event.timestamp_ns = cdh_monotonic_ns()
            event.nsnap = 1
            event.snap.0 = pending[pendingHead]
            pendingHead = (pendingHead + 1) % SimulatedDevice.ringSize
            buffer[i] = event
        }
        pendingCount -= count
        return count
    }

    public func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure) {
        installed[kind] = Array(program)
    }

    public func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(SystemCallError) { interruptMode = mode }
    public func unmask() throws(SystemCallError) {}
    public func mapBAR(_ index: Int) throws(SystemCallError) -> UnsafeMutableRawPointer? { nil }

    public func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64 {
        registers[UInt64(bar) << 32 | offset, default: 0]
    }

    public func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64) {
        if bar == 0 && offset == SimulatedDevice.raiseRegister {
            // A full ring drops the raise, like a device whose status bit is already set.
            guard pendingCount < SimulatedDevice.ringSize else { return }
            pending[(pendingHead + pendingCount) % SimulatedDevice.ringSize] = value
            pendingCount += 1
            try? line.signalEventFD()
            return
        }
        registers[UInt64(bar) << 32 | offset] = value
    }

    public func setDMAMask(bits: UInt32) throws(SystemCallError) {
        guard (12...64).contains(bits) else { throw SystemCallError(EINVAL, call: "DMA mask") }
    }

    public func allocateDMA(size: UInt64) throws(SystemCallError) -> DMAAllocation {
        guard let cpu = calloc(1, Int(size)) else { throw SystemCallError(ENOMEM, call: "DMA alloc") }
        let allocation = DMAAllocation(id: nextDMA, cpu: cpu, busAddress: 0x10_0000 * UInt64(nextDMA), size: size)
        dmaBuffers[nextDMA] = allocation
        nextDMA += 1
        return allocation
    }

    public func freeDMA(_ allocation: DMAAllocation) throws(SystemCallError) {
        guard dmaBuffers.removeValue(forKey: allocation.id) != nil else { throw SystemCallError(ENOENT, call: "DMA free") }
        free(allocation.cpu)
    }

    public func setBusMaster(_ enabled: Bool) throws(SystemCallError) { busMaster = enabled }

    public func close() {
        for buffer in dmaBuffers.values { free(buffer.cpu) }
        dmaBuffers.removeAll()
        isClosed = true
    }
}
