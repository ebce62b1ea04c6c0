import DrvHostSDK
import Glibc

/// One edu device: the Swift twin of Plugins/edu/edu.c, command for command.
final class EduDriver: Driver {
    static let wait = Duration.seconds(2)   // per step; real DMA takes 100 ms of QEMU time
    let device: Device
    private let dma: DMABuffer

    private var factorialResult: UInt32?
    private var dmaDone = false
    private var pings = PingPong()
    private var lastSequence: UInt64 = 0
    private var ticks: UInt32 = 0

    init(device: Device) throws(DriverError) {
        self.device = device
        try EduDriver.checkAlive(device)
        do {
            try device.setDMAMask(bits: Edu.dmaMaskBits)
        } catch {
            device.log(.error, "cannot set a \(Edu.dmaMaskBits)-bit DMA mask (\(error))")
            throw error
        }
        do {
            dma = try device.allocateDMA(size: Edu.dmaBufferSize)
        } catch {
            device.log(.error, "cannot allocate a DMA buffer (\(error))")
            throw error
        }
        countAttach()
    }

    func detach() {
        device.write(Edu.Register.status, 0)
        device.free(dma)
    }

    func interrupt(_ event: Event) {
        let now = monotonicNs()
        if event.dropped > 0 {
            pings.errors += Int(event.dropped)
            device.log(.warning, "\(event.dropped) events dropped before seq \(event.sequence)")
        }
        if lastSequence != 0 && event.sequence != lastSequence + 1 + UInt64(event.dropped) {
            pings.errors += 1
            device.log(.warning, "event seq \(event.sequence) after \(lastSequence)")
        }
        lastSequence = event.sequence
        guard let first = event.snapshots.first else { return }
        let status = UInt32(truncatingIfNeeded: first)
        if status & Edu.irqFactorial != 0 { factorialResult = device.read(Edu.Register.factorial) }
        if status & Edu.irqDMA != 0 { dmaDone = true }
        if status & Edu.pingMask != 0 { pingReceived(status >> Edu.pingShift, at: now) }
    }

    private static func checkAlive(_ device: Device) throws(DriverError) {
        let id = device.read(Edu.Register.id)
        guard id & 0xff == 0xed else {
            device.log(.error, "id register reads 0x\(String(id, radix: 16)), not an edu device")
            throw .device
        }
        for probe: UInt32 in [0x0000_0000, 0xffff_ffff, 0x5a5a_a5a5] {
            device.write(Edu.Register.liveness, probe)
            guard device.read(Edu.Register.liveness) == ~probe else {
                device.log(.error, "liveness check failed for 0x\(String(probe, radix: 16))")
                throw .device
            }
        }
        device.log(.info, "edu \(id >> 24).\((id >> 16) & 0xff) alive")
    }

    /// Count attaches across restarts in the saved state (shows it works).
    private func countAttach() {
        var attaches: UInt32 = 0
        if let saved = device.loadState(), saved.count == 8,
           saved.prefix(4).elementsEqual(Array("eds1".utf8)) {
            attaches = saved[4...].reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }
        attaches += 1
        try? device.saveState(Array("eds1".utf8) + (0..<4).map { UInt8(truncatingIfNeeded: attaches >> (8 * $0)) })
        let info = device.info
        device.log(.info, "attach \(attaches) (restart \(info.restartCount)) at \(info.address)")
    }

    /// Deliver events until `done` holds; false if a wait gave nothing.
    private func wait(until done: () -> Bool) -> Bool {
        while !done() {
            guard (try? device.waitEvents(for: EduDriver.wait)) == true else { return false }
        }
        return true
    }

    // MARK: Commands

    /// n! computed by the device (32 bits: exact up to 12!), or UInt64.max on timeout.
    func factorial(_ n: UInt32) -> UInt64 {
        factorialResult = nil
        device.write(Edu.Register.status, Edu.statusIRQOnFactorial)
        device.write(Edu.Register.factorial, n)
        guard wait(until: { factorialResult != nil }), let result = factorialResult else {
            device.log(.error, "no factorial interrupt")
            return .max
        }
        return UInt64(result)
    }

    func timer(_ id: Int) {
        ticks += 1
    }

    /// A periodic timer: the ticks seen once `count` came (0 if they did not).
    func heartbeat(every milliseconds: UInt32, ticks count: UInt32) -> UInt32 {
        ticks = 0
        do {
            try device.startTimer(0, after: .milliseconds(milliseconds), every: .milliseconds(milliseconds))
        } catch {
            device.log(.error, "timer: \(error)")
            return 0
        }
        defer { device.stopTimer(0) }
        guard wait(until: { ticks >= count }) else { return 0 }
        return ticks
    }

    /// Address, revision, BARs and interrupt line, from instance_info.
    func describe() -> String {
        let info = device.info
        let id = device.read(Edu.Register.id)
        let bars = info.bars.map { "BAR\($0.index) \($0.size >> 10) KiB \($0.kind == .memory ? "memory" : "I/O")" }
        let irq = info.irqLine.map { "IRQ \($0)" } ?? "no IRQ line"
        return "edu \(id >> 24).\((id >> 16) & 0xff) at \(info.address), \(bars.joined(separator: ", ")), \(irq)"
    }

    func registers() -> EduRegisters {
        EduRegisters(id: Hex(device.read(Edu.Register.id)), status: Hex(device.read(Edu.Register.status)),
                     irqStatus: Hex(device.read(Edu.Register.irqStatus)), restarts: device.info.restartCount)
    }

    /// Bytes of the DMA buffer as the last self-test left them.
    func dmaPeek(_ offset: UInt16, _ count: UInt8) -> Result<Bytes<64>, DriverError> {
        let end = Int(offset) + Int(count)
        guard count <= 64, end <= dma.count else { return .failure(.invalid) }
        return .success(Bytes(dma.read(Int(offset)..<end)))
    }

    func liveness(_ value: UInt32) -> UInt32 {
        device.write(Edu.Register.liveness, value)
        return device.read(Edu.Register.liveness)
    }

    private func transfer(from source: UInt64, to destination: UInt64, command: UInt32) -> Bool {
        dmaDone = false
        device.write(Edu.Register.dmaSource, UInt32(truncatingIfNeeded: source))
        device.write(Edu.Register.dmaDestination, UInt32(truncatingIfNeeded: destination))
        device.write(Edu.Register.dmaCount, UInt32(Edu.dmaTransferLength))
        device.write(Edu.Register.dmaCommand, command | Edu.dmaRun | Edu.dmaIRQ)
        return wait(until: { dmaDone })
    }

    /// Copy a pattern to the device and back: 0 if intact, else the number
    /// of bytes that differ, or DH_ERR_TIMEOUT.
    func dmaSelfTest(seed: UInt32) -> Int32 {
        var pattern = XorShift32(seed: seed | 1)
        for i in 0..<Edu.dmaTransferLength { dma[i] = pattern.nextByte() }
        guard transfer(from: dma.busAddress, to: Edu.dmaBuffer, command: 0) else { return DriverError.timeout.code }
        for i in 0..<Edu.dmaTransferLength { dma[i] = 0 }
        guard transfer(from: Edu.dmaBuffer, to: dma.busAddress, command: Edu.dmaToRAM) else { return DriverError.timeout.code }
        pattern = XorShift32(seed: seed | 1)
        return Int32((0..<Edu.dmaTransferLength).filter { dma[$0] != pattern.nextByte() }.count)
    }

    /// `count` raise -> interrupt() -> raise round trips; how many arrived
    /// once and in order (count when nothing was lost or duplicated).
    func pingPong(_ count: UInt32) -> UInt32 {
        pings.start(count: Int(count))
        guard count > 0 else { return 0 }
        raisePing()
        while !pings.finished {
            guard (try? device.waitEvents(for: EduDriver.wait)) == true else { break }
        }
        // A duplicate of the last ping would arrive right after it.
        _ = try? device.waitEvents(for: .milliseconds(20))
        if pings.errors > 0 { device.log(.error, "ping-pong: \(pings.errors) errors") }
        return pings.errors > 0 ? 0 : UInt32(pings.roundTrips.count)
    }

    /// Percentile (0...100) of the last ping-pong's raise -> interrupt() times.
    func roundTripNs(percentile: UInt32) -> UInt64 {
        let samples = pings.roundTrips.sorted()
        guard !samples.isEmpty, percentile <= 100 else { return 0 }
        return samples[(samples.count - 1) * Int(percentile) / 100]
    }

    private func raisePing() {
        pings.expected = pings.expected % 0xffff + 1
        pings.raisedAt = monotonicNs()
        device.write(Edu.Register.irqRaise, pings.expected << Edu.pingShift)
    }

    private func pingReceived(_ value: UInt32, at now: UInt64) {
        guard pings.roundTrips.count < pings.target, value == pings.expected else {
            pings.errors += 1
            device.log(.warning, "ping \(value) unexpected (waiting for \(pings.expected), \(pings.roundTrips.count) of \(pings.target) done)")
            return
        }
        pings.roundTrips.append(now - pings.raisedAt)
        if pings.roundTrips.count < pings.target { raisePing() }
    }
}

/// The `registers` command's record: "{id:x32,status:x32,irq_status:x32,restarts:u32}()".
struct EduRegisters: CommandRecord {
    var id: Hex<UInt32>
    var status: Hex<UInt32>
    var irqStatus: Hex<UInt32>
    var restarts: UInt32
    static let fields = [
        RecordField("id", \EduRegisters.id), RecordField("status", \EduRegisters.status),
        RecordField("irq_status", \EduRegisters.irqStatus), RecordField("restarts", \EduRegisters.restarts),
    ]
}

/// Ping-pong bookkeeping: interrupt() raises the next ping from the last one.
struct PingPong {
    var target = 0
    var errors = 0
    var expected: UInt32 = 0
    var raisedAt: UInt64 = 0
    var roundTrips: [UInt64] = []

    mutating func start(count: Int) {
        target = count
        errors = 0
        roundTrips = []
        roundTrips.reserveCapacity(count)
    }

    var finished: Bool { roundTrips.count >= target || errors > 0 }
}

/// The same pattern generator as edu.c's self-test.
struct XorShift32 {
    var state: UInt32
    init(seed: UInt32) { state = seed }
    mutating func nextByte() -> UInt8 {
        state ^= state << 13
        state ^= state >> 17
        state ^= state << 5
        return UInt8(truncatingIfNeeded: state)
    }
}

func monotonicNs() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

func hex<T: BinaryInteger>(_ value: T, _ digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
