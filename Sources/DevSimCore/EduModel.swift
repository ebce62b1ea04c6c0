import CDrvHost

/// QEMU's educational PCI device (hw/misc/edu.c, docs/specs/edu.rst), as a
/// devsim model: the same registers, the same interrupt and DMA behaviour.
///
/// Timing differs on purpose: QEMU computes the factorial in a thread and
/// finishes a DMA transfer after 100 ms of virtual time; here the factorial
/// takes `factorialNs` and DMA `dmaNs`, short enough for fast tests, long
/// enough that "computing" and "DMA running" can be seen (and waited for by
/// a release program's POLL).
public final class EduModel: DeviceModel {
    enum Register {
        static let id: UInt64 = 0x00
        static let liveness: UInt64 = 0x04
        static let factorial: UInt64 = 0x08
        static let status: UInt64 = 0x20
        static let irqStatus: UInt64 = 0x24
        static let irqRaise: UInt64 = 0x60
        static let irqAck: UInt64 = 0x64
        static let dmaSource: UInt64 = 0x80
        static let dmaDestination: UInt64 = 0x88
        static let dmaCount: UInt64 = 0x90
        static let dmaCommand: UInt64 = 0x98
    }

    static let idValue: UInt32 = 0x0100_00ed          // version 1.0
    static let statusComputing: UInt32 = 0x01
    static let statusIRQOnFactorial: UInt32 = 0x80
    static let irqFactorial: UInt32 = 0x001
    static let irqDMA: UInt32 = 0x100
    static let dmaRun: UInt64 = 0x1
    static let dmaToRAM: UInt64 = 0x2
    static let dmaIRQ: UInt64 = 0x4
    static let bufferStart: UInt64 = 0x40000
    static let bufferSize = 4096

    public let factorialNs: UInt64
    public let dmaNs: UInt64

    // Class as QEMU's edu has it (PCI_CLASS_OTHERS, 0x00ff: base class 00,
    // subclass ff), so hostctl shows a simulated edu as lspci shows a real one.
    public let identity = ModelIdentity(
        vendor: 0x1234, device: 0x11e8, subvendor: 0x1af4, subdevice: 0x1100,
        classCode: 0x00ff00, revision: 0x10, barSizes: [1 << 20],
        irqKinds: UInt32(DRVPROXY_IRQ_KIND_INTX | DRVPROXY_IRQ_KIND_MSI), dmaMaskBits: 32)

    private weak var bus: DeviceBus?
    private var liveness: UInt32 = 0
    private var factorial: UInt32 = 0
    private var status: UInt32 = 0
    private var irqStatus: UInt32 = 0
    private var dmaSource: UInt64 = 0
    private var dmaDestination: UInt64 = 0
    private var dmaCount: UInt64 = 0
    private var dmaCommand: UInt64 = 0
    /// edu's 28-bit DMA engine: addresses are clamped to this mask.
    private let dmaAddressMask: UInt64 = (1 << 28) - 1
    private var buffer = [UInt8](repeating: 0, count: EduModel.bufferSize)
    private var factorialDue: UInt64?
    private var dmaDue: UInt64?

    public init(factorialNs: UInt64 = 50_000, dmaNs: UInt64 = 1_000_000) {
        self.factorialNs = factorialNs
        self.dmaNs = dmaNs
    }

    public func connect(to bus: DeviceBus) {
        self.bus = bus
    }

    public func reset() {
        liveness = 0
        factorial = 0
        status = 0
        dmaSource = 0
        dmaDestination = 0
        dmaCount = 0
        dmaCommand = 0
        factorialDue = nil
        dmaDue = nil
        buffer = [UInt8](repeating: 0, count: EduModel.bufferSize)
        lowerInterrupt(irqStatus)
    }

    // MARK: Registers

    public func read(bar: Int, offset: UInt64, width: Int) -> UInt64 {
        guard validAccess(offset, width) else { return ~0 >> (64 - 8 * UInt64(width)) }
        switch offset {
        case Register.id: return UInt64(EduModel.idValue)
        case Register.liveness: return UInt64(~liveness)
        case Register.factorial: return UInt64(factorial)
        case Register.status: return UInt64(status)
        case Register.irqStatus: return UInt64(irqStatus)
        case Register.dmaSource: return truncate(dmaSource, width)
        case Register.dmaDestination: return truncate(dmaDestination, width)
        case Register.dmaCount: return truncate(dmaCount, width)
        case Register.dmaCommand: return truncate(dmaCommand, width)
        default: return ~0 >> (64 - 8 * UInt64(width))
        }
    }

    public func write(bar: Int, offset: UInt64, width: Int, value: UInt64) {
        guard validAccess(offset, width) else { return }
        let value32 = UInt32(truncatingIfNeeded: value)
        switch offset {
        case Register.liveness:
            liveness = value32
        case Register.factorial:
            guard status & EduModel.statusComputing == 0 else { return }
            factorial = value32
            status |= EduModel.statusComputing
            factorialDue = cdh_monotonic_ns() + factorialNs
        case Register.status:
            // Only the interrupt-enable bit is writable; "computing" is the device's.
            status = (status & ~EduModel.statusIRQOnFactorial) | (value32 & EduModel.statusIRQOnFactorial)
        case Register.irqRaise:
            raiseInterrupt(value32)
        case Register.irqAck:
            lowerInterrupt(value32)
        case Register.dmaSource where !dmaRunning:
            dmaSource = value
        case Register.dmaDestination where !dmaRunning:
            dmaDestination = value
        case Register.dmaCount where !dmaRunning:
            dmaCount = value
        case Register.dmaCommand where !dmaRunning:
            dmaCommand = value
            if value & EduModel.dmaRun != 0 { dmaDue = cdh_monotonic_ns() + dmaNs }
        default:
            break  // read-only or unknown register, or DMA busy: ignored, as in QEMU
        }
    }

    /// edu: 4-byte accesses below 0x80, 4 or 8 bytes from 0x80 on.
    private func validAccess(_ offset: UInt64, _ width: Int) -> Bool {
        offset < 0x80 ? width == 4 : (width == 4 || width == 8)
    }

    private func truncate(_ value: UInt64, _ width: Int) -> UInt64 {
        width == 8 ? value : value & 0xffff_ffff
    }

    private var dmaRunning: Bool { dmaCommand & EduModel.dmaRun != 0 }

    // MARK: Interrupts

    private func raiseInterrupt(_ bits: UInt32) {
        irqStatus |= bits
        guard irqStatus != 0, let bus else { return }
        if bus.msiEnabled {
            bus.signalMSI()
        } else {
            bus.setInterruptLine(asserted: true)
        }
    }

    private func lowerInterrupt(_ bits: UInt32) {
        irqStatus &= ~bits
        if irqStatus == 0, let bus, !bus.msiEnabled {
            bus.setInterruptLine(asserted: false)
        }
    }

    // MARK: Timed work

    public var nextDeadline: UInt64? {
        switch (factorialDue, dmaDue) {
        case let (f?, d?): return min(f, d)
        case let (f?, nil): return f
        case let (nil, d?): return d
        case (nil, nil): return nil
        }
    }

    public func advance(to now: UInt64) {
        if let due = factorialDue, due <= now {
            factorialDue = nil
            finishFactorial()
        }
        if let due = dmaDue, due <= now {
            dmaDue = nil
            finishDMA()
        }
    }

    private func finishFactorial() {
        var result: UInt32 = 1
        if factorial > 1 {
            for i in 2...factorial { result = result &* i }
        }
        factorial = result
        status &= ~EduModel.statusComputing
        if status & EduModel.statusIRQOnFactorial != 0 { raiseInterrupt(EduModel.irqFactorial) }
    }

    private func finishDMA() {
        defer {
            dmaCommand &= ~EduModel.dmaRun
            if dmaCommand & EduModel.dmaIRQ != 0 { raiseInterrupt(EduModel.irqDMA) }
        }
        guard let bus else { return }
        let toRAM = dmaCommand & EduModel.dmaToRAM != 0
        let deviceSide = toRAM ? dmaSource : dmaDestination
        let ramSide = (toRAM ? dmaDestination : dmaSource) & dmaAddressMask
        guard deviceSide >= EduModel.bufferStart, dmaCount <= UInt64(EduModel.bufferSize),
              deviceSide - EduModel.bufferStart <= UInt64(EduModel.bufferSize) - dmaCount else {
            bus.note("edu: DMA range 0x\(String(deviceSide, radix: 16))+\(dmaCount) outside the device buffer: ignored")
            return
        }
        let start = Int(deviceSide - EduModel.bufferStart)
        let count = Int(dmaCount)
        let moved = buffer.withUnsafeMutableBytes { bytes in
            let window = UnsafeMutableRawBufferPointer(rebasing: bytes[start..<start + count])
            return toRAM ? bus.dmaWrite(busAddress: ramSide, from: UnsafeRawBufferPointer(window))
                         : bus.dmaRead(busAddress: ramSide, into: window)
        }
        if !moved { bus.note("edu: DMA to bus address 0x\(String(ramSide, radix: 16)) failed (master abort)") }
    }
}
