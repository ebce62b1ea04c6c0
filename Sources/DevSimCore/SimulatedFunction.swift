import CDevSim
import CDrvHost
import DriverHostCore
import Glibc
import DrvHostSystem

/// One simulated PCI function and the proxy in front of it: what
/// drvproxy.ko keeps per device (programs, IRQ mode, event ring, DMA
/// buffers, counters, owner), around a DeviceModel. The request handlers
/// mirror drvproxy's ioctls; `release()` is its release sequence.
public final class SimulatedFunction: DeviceBus {
    public let name: String
    public let modelName: String
    public let model: DeviceModel
    private let log: (String) -> Void

    // The proxy's state.
    private(set) var ownerPID: UInt32 = 0
    private var ackProgram: [drvproxy_insn] = []
    private var releaseProgram: [drvproxy_insn] = []
    private var releaseFlags: UInt32 = 0
    private(set) var irqMode = UInt32(DRVPROXY_IRQ_NONE.rawValue)
    private var busMaster = false
    private var needsReset = true     // not reset since last used (drvproxy: at probe too)
    private var dmaMaskBits: UInt32
    private var dma = DMAMemory()
    private var ring = EventRing()
    private var stormCount = 0
    private var intxMasked = false      // INTx-disable bit set (INTX_DISABLE mode or storm)
    private var lineDisabled = false    // storm: the line (or MSI vector) is off
    /// Readable while events are queued: the owner's poll/epoll descriptor.
    private(set) var eventFD: Descriptor?

    // The model's outputs.
    private var lineAsserted = false
    private var pendingMSIs = 0

    // sysfs counters.
    private var interrupts: UInt64 = 0
    private var notMine: UInt64 = 0
    private var storms: UInt64 = 0
    private(set) var releases: UInt64 = 0

    static let stormThreshold = 4 * EventRing.capacity   // DRVPROXY_STORM_THRESHOLD
    static let defaultDMABits: UInt32 = 32

    public init(name: String, modelName: String, model: DeviceModel, log: @escaping (String) -> Void) {
        self.name = name
        self.modelName = modelName
        self.model = model
        self.log = log
        dmaMaskBits = model.identity.dmaMaskBits
        model.connect(to: self)
    }

    // MARK: INFO

    var info: drvproxy_info {
        let identity = model.identity
        var info = drvproxy_info()
        info.abi_version = UInt32(DRVPROXY_ABI_VERSION)
        // DMA goes only to the memfd buffers the owner allocated (DMAMemory
        // translates every access), as an IOMMU would confine it.
        info.flags = UInt32(DRVPROXY_INFO_INTX_DISABLE | DRVPROXY_INFO_DMA_CONFINED)
            | (identity.hasResetMethod ? UInt32(DRVPROXY_INFO_RESET) : 0)
            | (busMaster ? UInt32(DRVPROXY_INFO_BUS_MASTER) : 0)
        info.vendor = identity.vendor
        info.device = identity.device
        info.subvendor = identity.subvendor
        info.subdevice = identity.subdevice
        info.class_code = identity.classCode
        info.revision = identity.revision
        info.irq_kinds = identity.irqKinds
        info.ring_entries = UInt32(EventRing.capacity)
        info.dma_mask_bits = dmaMaskBits
        withUnsafeMutableBytes(of: &info.bars) { bytes in
            for (index, size) in identity.barSizes.prefix(Int(DRVPROXY_NUM_BARS)).enumerated() where size > 0 {
                var bar = drvproxy_bar_info()
                bar.size = size
                bar.flags = UInt32(DRVPROXY_BAR_PRESENT | DRVPROXY_BAR_MEM)
                bytes.storeBytes(of: bar, toByteOffset: index * MemoryLayout<drvproxy_bar_info>.stride, as: drvproxy_bar_info.self)
            }
        }
        return info
    }

    var counters: devsim_counters {
        devsim_counters(interrupts: interrupts, not_mine: notMine, dropped: ring.dropped, storms: storms,
                        releases: releases, owner_pid: ownerPID, bus_master: busMaster ? 1 : 0,
                        irq_mode: irqMode, dma_buffers: UInt32(dma.count))
    }

    private var regprogBars: [regprog_bar] {
        (0..<Int(DRVPROXY_NUM_BARS)).map { index in
            let sizes = model.identity.barSizes
            return regprog_bar(size: index < sizes.count ? sizes[index] : 0, is_io: false,
                               protect: (regprog_range(), regprog_range()))
        }
    }

    // MARK: Owner

    /// open(): one owner at a time; a new owner starts with an empty ring.
    func open(owner pid: UInt32) throws(DevSimError) -> Descriptor {
        guard ownerPID == 0 else { throw .errno(EBUSY) }
        let fd: Descriptor
        do { fd = try Descriptor.eventFD() } catch { throw .errno(error.code) }
        // Whatever the last user left running stops here, as in drvproxy.
        if needsReset && model.identity.hasResetMethod {
            model.reset()
            needsReset = false
        }
        ownerPID = pid
        ring.reset()
        stormCount = 0
        busMaster = false  // until the owner asks (BUS_MASTER), as drvproxy
        eventFD = fd
        return fd
    }

    /// Last close (orderly or a crash: devsim cannot tell, nor can the
    /// kernel): the release sequence, then forget what the owner set up.
    func close() {
        release()
        ackProgram = []
        releaseProgram = []
        releaseFlags = 0
        dmaMaskBits = model.identity.dmaMaskBits
        ownerPID = 0
        eventFD = nil
        log("\(name): released (\(releases) so far)")
    }

    /// drvproxy's release sequence, in its order: release program, free the
    /// interrupt, bus mastering off, free DMA memory, optional function reset.
    func release() {
        if !releaseProgram.isEmpty {
            let result = run(releaseProgram)
            if result.poll_timeouts > 0 { log("\(name): release program: \(result.poll_timeouts) poll(s) timed out") }
        }
        setIRQNone()
        busMaster = false
        dma.freeAll()
        // As drvproxy: a function with a reset method is reset unless the
        // owner asked for NO_RESET, and then at the next open instead.
        if model.identity.hasResetMethod && releaseFlags & UInt32(DRVPROXY_RELEASE_NO_RESET) == 0 {
            model.reset()
            needsReset = false
        } else {
            needsReset = true
        }
        releases += 1
        serviceInterrupts()
    }

    // MARK: ioctls

    func setProgram(kind: UInt32, flags: UInt32, instructions: [drvproxy_insn]) -> (status: Int32, error: UInt32, index: UInt32) {
        var error: UInt32 = 0
        var index: UInt32 = 0
        let knownFlags = UInt32(DRVPROXY_RELEASE_FUNCTION_RESET | DRVPROXY_RELEASE_NO_RESET)
        if kind == UInt32(DRVPROXY_PROG_RELEASE.rawValue), flags & ~knownFlags != 0 {
            return (-EINVAL, UInt32(DRVPROXY_EPROG_RESERVED.rawValue), 0)
        }
        let valid = instructions.withUnsafeBufferPointer { program in
            regprogBars.withUnsafeBufferPointer { bars in
                regprog_validate(drvproxy_prog_kind(kind), program.baseAddress, UInt32(program.count),
                                 bars.baseAddress, &error, &index)
            }
        }
        guard valid == 0 else { return (-EINVAL, error, index) }
        if kind == UInt32(DRVPROXY_PROG_ACK.rawValue) {
            ackProgram = instructions
        } else {
            releaseProgram = instructions
            releaseFlags = flags
        }
        return (0, 0, 0)
    }

    func setIRQ(mode: UInt32, vectors: UInt32) throws(DevSimError) {
        let kinds = model.identity.irqKinds
        switch drvproxy_irq_mode(mode) {
        case DRVPROXY_IRQ_NONE:
            break
        case DRVPROXY_IRQ_INTX_SHARED, DRVPROXY_IRQ_INTX_DISABLE:
            guard kinds & UInt32(DRVPROXY_IRQ_KIND_INTX) != 0 else { throw .errno(EOPNOTSUPP) }
            guard vectors <= 1 else { throw .errno(EINVAL) }
        case DRVPROXY_IRQ_MSI:
            guard kinds & UInt32(DRVPROXY_IRQ_KIND_MSI) != 0 else { throw .errno(EOPNOTSUPP) }
            guard vectors <= 1 else { throw .errno(EINVAL) }
        case DRVPROXY_IRQ_MSIX:
            throw .errno(EOPNOTSUPP)
        default:
            throw .errno(EINVAL)
        }
        setIRQNone()
        stormCount = 0
        irqMode = mode
        serviceInterrupts()
    }

    private func setIRQNone() {
        irqMode = UInt32(DRVPROXY_IRQ_NONE.rawValue)
        intxMasked = false
        lineDisabled = false
        pendingMSIs = 0
    }

    func unmask() throws(DevSimError) {
        guard irqMode != UInt32(DRVPROXY_IRQ_NONE.rawValue) else { throw .errno(EINVAL) }
        stormCount = 0
        lineDisabled = false
        if irqMode == UInt32(DRVPROXY_IRQ_INTX_DISABLE.rawValue), intxMasked, lineAsserted {
            // Still asserting: unmasking would only take it again at once.
            claim(ackDecides: false)
        } else {
            intxMasked = false
        }
        serviceInterrupts()
    }

    func setDMAMask(bits: UInt32) throws(DevSimError) {
        guard (12...64).contains(bits) else { throw .errno(EINVAL) }
        dmaMaskBits = bits
    }

    func allocateDMA(size: UInt64) throws(DevSimError) -> (DMAMemory.Buffer, Int32) {
        try dma.allocate(size: size, maskBits: dmaMaskBits).get()
    }

    /// BUS_MASTER: the device's DMA and MSI work only while it is on (an
    /// MSI is a memory write by the device). Off after open, RESET and
    /// release; the model's transfers and messages meanwhile go nowhere.
    func setBusMaster(_ enabled: Bool) {
        busMaster = enabled
    }

    /// An error the PCI core reported (AER): an ERROR record for the owner,
    /// whatever the interrupt mode, as drvproxy's error handler queues it.
    func injectError(channelState: UInt32) throws(DevSimError) {
        guard (1...3).contains(channelState) else { throw .errno(EINVAL) }
        guard ownerPID != 0 else { throw .errno(ENXIO) }
        var result = regprog_result()
        result.nsnap = 1
        result.snap.0 = UInt64(channelState)
        ring.push(vector: 0, flags: UInt32(DRVPROXY_EVENT_ERROR), result: result)
        try? eventFD?.signalEventFD()
        note("error injected (channel state \(channelState))")
    }

    func freeDMA(id: UInt32) throws(DevSimError) {
        guard dma.free(id: id) else { throw .errno(ENOENT) }
    }

    func readRegister(bar: UInt32, offset: UInt64, width: UInt32) throws(DevSimError) -> UInt64 {
        try checkAccess(bar, offset, width)
        let value = model.read(bar: Int(bar), offset: offset, width: Int(width))
        serviceInterrupts()
        return value
    }

    func writeRegister(bar: UInt32, offset: UInt64, width: UInt32, value: UInt64) throws(DevSimError) {
        try checkAccess(bar, offset, width)
        model.write(bar: Int(bar), offset: offset, width: Int(width), value: value)
        serviceInterrupts()
    }

    private func checkAccess(_ bar: UInt32, _ offset: UInt64, _ width: UInt32) throws(DevSimError) {
        let sizes = model.identity.barSizes
        guard [1, 2, 4, 8].contains(width), Int(bar) < sizes.count, sizes[Int(bar)] >= UInt64(width),
              offset <= sizes[Int(bar)] - UInt64(width), offset % UInt64(width) == 0 else { throw .errno(EINVAL) }
    }

    func readEvents(max: Int) -> [drvproxy_event] {
        let (events, lost) = ring.pop(max: max)
        // A read is the owner consuming: storm counting starts again, unless
        // the ring overflowed since its last read (it is not keeping up).
        if !events.isEmpty && !lost { stormCount = 0 }
        // The owner drains the eventfd before asking: tell it if more wait.
        if !ring.isEmpty { try? eventFD?.signalEventFD() }
        return events
    }

    // MARK: Time

    var nextDeadline: UInt64? { model.nextDeadline }

    func advance(to now: UInt64) {
        model.advance(to: now)
        serviceInterrupts()
    }

    // MARK: Interrupt delivery (the top half)

    /// Deliver what the model signalled, as the kernel's handlers would:
    /// a level-triggered INTx line fires again while it stays asserted
    /// (until the storm limit masks it); each MSI is one interrupt.
    private func serviceInterrupts() {
        switch drvproxy_irq_mode(irqMode) {
        case DRVPROXY_IRQ_INTX_SHARED:
            while lineAsserted && !intxMasked && !lineDisabled {
                if !claim(ackDecides: true) { break }  // nobody on the line claims it
            }
        case DRVPROXY_IRQ_INTX_DISABLE:
            if lineAsserted && !intxMasked {
                intxMasked = true
                claim(ackDecides: false)
            }
        case DRVPROXY_IRQ_MSI:
            while pendingMSIs > 0 && !lineDisabled {
                pendingMSIs -= 1
                claim(ackDecides: false)
            }
        default:
            pendingMSIs = 0
        }
    }

    /// drvproxy_irq.c claim(): run the ACK program, count, queue the record.
    @discardableResult
    private func claim(ackDecides: Bool) -> Bool {
        var result = regprog_result()
        if !ackProgram.isEmpty {
            result = run(ackProgram)
            if ackDecides && result.verdict == REGPROG_NOT_MINE {
                notMine += 1
                return false
            }
        }
        interrupts += 1
        var flags: UInt32 = 0
        if stormCount < SimulatedFunction.stormThreshold { stormCount += 1 }
        if stormCount >= SimulatedFunction.stormThreshold {
            if irqMode == UInt32(DRVPROXY_IRQ_INTX_SHARED.rawValue) { intxMasked = true } else { lineDisabled = true }
            storms += 1
            flags |= UInt32(DRVPROXY_EVENT_STORM)
        }
        ring.push(vector: 0, flags: flags, result: result)
        try? eventFD?.signalEventFD()
        return true
    }

    private func run(_ program: [drvproxy_insn]) -> regprog_result {
        var result = regprog_result()
        var io = SimulatedFunction.regprogIO
        let context = Unmanaged.passUnretained(self).toOpaque()
        program.withUnsafeBufferPointer { insns in
            regprog_run(insns.baseAddress, UInt32(insns.count), &io, context, &result)
        }
        return result
    }

    /// regprog's callbacks: the model's registers; a delay lets time pass
    /// for the model too, so a release program can POLL for its DMA to end.
    private static let regprogIO = regprog_io(
        read: { context, bar, offset, width in
            Unmanaged<SimulatedFunction>.fromOpaque(context!).takeUnretainedValue()
                .model.read(bar: Int(bar), offset: UInt64(offset), width: Int(width))
        },
        write: { context, bar, offset, width, value in
            Unmanaged<SimulatedFunction>.fromOpaque(context!).takeUnretainedValue()
                .model.write(bar: Int(bar), offset: UInt64(offset), width: Int(width), value: value)
        },
        delay_us: { context, microseconds in
            cds_sleep_us(microseconds)
            Unmanaged<SimulatedFunction>.fromOpaque(context!).takeUnretainedValue()
                .model.advance(to: cdh_monotonic_ns())
        },
        now_us: { _ in cdh_monotonic_ns() / 1000 })

    // MARK: DeviceBus (the model's side)

    public func setInterruptLine(asserted: Bool) {
        lineAsserted = asserted
    }

    public func signalMSI() {
        guard busMaster else { return }
        pendingMSIs += 1
    }

    public var msiEnabled: Bool { irqMode == UInt32(DRVPROXY_IRQ_MSI.rawValue) }

    public func dmaRead(busAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard busMaster, let source = dma.translate(busAddress, length: buffer.count) else { return false }
        buffer.copyMemory(from: UnsafeRawBufferPointer(start: source, count: buffer.count))
        return true
    }

    public func dmaWrite(busAddress: UInt64, from buffer: UnsafeRawBufferPointer) -> Bool {
        guard busMaster, let target = dma.translate(busAddress, length: buffer.count) else { return false }
        target.copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
        return true
    }

    public func note(_ message: String) {
        log("\(name): \(message)")
    }
}
