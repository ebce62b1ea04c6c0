import CDrvHost
@testable import DevSimCore
import Glibc
import Testing

/// drvproxy's rules, checked on devsim's SimulatedFunction in-process:
/// the event ring, NOT_MINE, MSI, and the release sequence.
@Suite struct SimulatedFunctionTests {
    static let irqStatus: UInt32 = 0x24, raise: UInt64 = 0x60, ack: UInt32 = 0x64, liveness: UInt32 = 0x04

    func insn(_ op: drvproxy_op, width: UInt8 = 0, offset: UInt32 = 0, imm: UInt64 = 0) -> drvproxy_insn {
        drvproxy_insn(op: UInt8(op.rawValue), width: width, bar: 0, reserved0: 0, offset: offset, imm: imm,
                      expect: 0, timeout_us: 0, reserved1: 0)
    }

    var eduAck: [drvproxy_insn] {
        [insn(DRVPROXY_OP_READ, width: 4, offset: Self.irqStatus), insn(DRVPROXY_OP_NOT_MINE_IF_ZERO),
         insn(DRVPROXY_OP_SNAPSHOT), insn(DRVPROXY_OP_WRITE, width: 4, offset: Self.ack)]
    }

    /// An edu function with an owner, the edu ACK program and `mode`.
    func owned(mode: drvproxy_irq_mode = DRVPROXY_IRQ_INTX_SHARED, ack: [drvproxy_insn]? = nil) throws -> SimulatedFunction {
        let function = SimulatedFunction(name: "t", modelName: "edu", model: EduModel(), log: { _ in })
        _ = try function.open(owner: 1)
        #expect(function.setProgram(kind: UInt32(DRVPROXY_PROG_ACK.rawValue), flags: 0, instructions: ack ?? eduAck).status == 0)
        try function.setIRQ(mode: mode.rawValue, vectors: 1)
        return function
    }

    @Test func aFullRingCountsWhatItDropsAndSaysSoInTheNextRecord() throws {
        let function = try owned()
        let capacity = EventRing.capacity
        for i in 0..<(capacity + 6) { try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: UInt64(i + 1)) }
        var seen: [drvproxy_event] = []
        while case let batch = function.readEvents(max: 64), !batch.isEmpty { seen += batch }
        #expect(seen.count == capacity)
        #expect(seen.map(\.seq) == (1...UInt64(capacity)).map { $0 })
        #expect(seen.allSatisfy { $0.flags == 0 && $0.nsnap == 1 })
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 7)
        let next = function.readEvents(max: 64)
        #expect(next.count == 1)
        #expect(next.first?.seq == UInt64(capacity + 7))
        #expect(next.first?.flags == UInt32(DRVPROXY_EVENT_DROPPED))
        #expect(next.first?.dropped == 6)
        #expect(function.counters.dropped == 6)
    }

    @Test func aLineNobodyAcknowledgesIsMaskedAsAStormAndSaysSo() throws {
        // The ACK program claims but never acknowledges: edu keeps its line up.
        let function = try owned(ack: [insn(DRVPROXY_OP_READ, width: 4, offset: Self.irqStatus), insn(DRVPROXY_OP_SNAPSHOT)])
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 1)
        let counters = function.counters
        #expect(counters.storms == 1)
        #expect(counters.interrupts == UInt64(SimulatedFunction.stormThreshold))
        var seen: [drvproxy_event] = []
        while case let batch = function.readEvents(max: 64), !batch.isEmpty { seen += batch }
        #expect(seen.count == EventRing.capacity + 1)
        let last = try #require(seen.last)
        #expect(last.seq == UInt64(SimulatedFunction.stormThreshold))
        #expect(last.flags == UInt32(DRVPROXY_EVENT_STORM | DRVPROXY_EVENT_DROPPED))
        // The storm record took the kept slot; 1024..4095 never fitted.
        #expect(last.dropped == UInt32(SimulatedFunction.stormThreshold - EventRing.capacity - 1))
        // Masked until UNMASK, which lets the still-asserted line storm again.
        try function.unmask()
        #expect(function.counters.storms == 2)
    }

    @Test func anOwnerThatKeepsUpNeverSeesAStorm() throws {
        let function = try owned()
        for round in 0..<(2 * SimulatedFunction.stormThreshold / 64) {
            for i in 0..<64 { try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: UInt64(round * 64 + i + 1)) }
            #expect(function.readEvents(max: 64).count == 64)
        }
        #expect(function.counters.storms == 0)
        #expect(function.counters.dropped == 0)
    }

    @Test func aSharedLineAsksTheAckProgramWhoseInterruptItIs() throws {
        // An ACK program that reads the liveness register's inverse of 0xffffffff:
        // 0, so every interrupt is someone else's.
        let notOurs = [insn(DRVPROXY_OP_READ, width: 4, offset: Self.liveness), insn(DRVPROXY_OP_XOR, imm: 0xffff_ffff),
                       insn(DRVPROXY_OP_NOT_MINE_IF_ZERO), insn(DRVPROXY_OP_SNAPSHOT)]
        let function = try owned(ack: notOurs)
        try function.writeRegister(bar: 0, offset: 0x04, width: 4, value: 0)  // liveness reads 0xffffffff
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 1)
        #expect(function.readEvents(max: 64).isEmpty)
        #expect(function.counters.not_mine == 1)
        #expect(function.counters.interrupts == 0)
    }

    @Test func everyMSIIsOneEventAndLeavesTheStatusToTheDriver() throws {
        let function = try owned(mode: DRVPROXY_IRQ_MSI, ack: [insn(DRVPROXY_OP_READ, width: 4, offset: Self.irqStatus), insn(DRVPROXY_OP_SNAPSHOT)])
        function.setBusMaster(true)  // an MSI is a memory write
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 0x10)
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 0x20)
        let events = function.readEvents(max: 64)
        #expect(events.map { $0.snap.0 } == [0x10, 0x30])  // nobody acknowledged: edu's status accumulates
    }

    @Test func closingRunsTheReleaseSequenceInTheKernelsOrder() throws {
        let function = try owned()
        let release = [insn(DRVPROXY_OP_WRITE_IMM, width: 4, offset: Self.liveness, imm: 0xD15E_A5ED)]
        #expect(function.setProgram(kind: UInt32(DRVPROXY_PROG_RELEASE.rawValue), flags: 0, instructions: release).status == 0)
        let (buffer, fd) = try function.allocateDMA(size: 4096)
        close(fd)
        #expect(buffer.busAddress >= DMAMemory.firstBusAddress)
        function.setBusMaster(true)
        #expect(function.counters.bus_master == 1)
        function.close()
        let counters = function.counters
        #expect(counters.releases == 1)
        #expect(counters.owner_pid == 0)
        #expect(counters.bus_master == 0)
        #expect(counters.dma_buffers == 0)
        #expect(counters.irq_mode == 0)
        #expect(try function.readRegister(bar: 0, offset: 0x04, width: 4) == 0x2EA1_5A12)
        // The next owner starts afresh.
        _ = try function.open(owner: 2)
        #expect(function.counters.owner_pid == 2)
    }

    // MARK: Bus mastering (drvproxy ABI 2: only at the owner's request)

    static let dmaCommand: UInt64 = 0x98, dmaRun: UInt64 = 0x1, dmaToRAM: UInt64 = 0x2

    @Test func busMasteringIsOffUntilAskedAndAfterResetAndRelease() throws {
        let function = try owned()
        let mastering = { (function.info.flags & UInt32(DRVPROXY_INFO_BUS_MASTER) != 0, function.counters.bus_master) }
        #expect(mastering() == (false, 0))
        let (_, fd) = try function.allocateDMA(size: 4096)  // memory alone does not switch it on
        close(fd)
        #expect(mastering() == (false, 0))
        function.setBusMaster(true)
        #expect(mastering() == (true, 1))
        function.release()  // RESET
        #expect(mastering() == (false, 0))
        function.setBusMaster(true)
        function.close()
        #expect(mastering() == (false, 0))
        _ = try function.open(owner: 2)
        #expect(mastering() == (false, 0))
    }

    /// QEMU's edu has no reset method, and neither has devsim's.
    @Test func infoSaysDMAIsConfinedAndEduHasNoReset() throws {
        let flags = try owned().info.flags
        #expect(flags & UInt32(DRVPROXY_INFO_DMA_CONFINED) != 0)
        #expect(flags & UInt32(DRVPROXY_INFO_DMA_UNSAFE) == 0)
        #expect(flags & UInt32(DRVPROXY_INFO_RESET) == 0)
    }

    @Test func releaseProgramsTakeABI2sNoResetFlagAndNoUnknownOne() throws {
        let function = try owned()
        let release = [insn(DRVPROXY_OP_WRITE_IMM, width: 4, offset: Self.liveness, imm: 1)]
        let kind = UInt32(DRVPROXY_PROG_RELEASE.rawValue)
        #expect(function.setProgram(kind: kind, flags: UInt32(DRVPROXY_RELEASE_NO_RESET), instructions: release).status == 0)
        #expect(function.setProgram(kind: kind, flags: UInt32(DRVPROXY_RELEASE_NO_RESET) << 1, instructions: release).status == -EINVAL)
    }

    @Test func anMSIIsLostWhileBusMasteringIsOff() throws {
        let function = try owned(mode: DRVPROXY_IRQ_MSI, ack: [insn(DRVPROXY_OP_READ, width: 4, offset: Self.irqStatus), insn(DRVPROXY_OP_SNAPSHOT)])
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 0x10)
        #expect(function.readEvents(max: 64).isEmpty)
        #expect(function.counters.interrupts == 0)
        function.setBusMaster(true)
        try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: 0x20)
        #expect(function.readEvents(max: 64).map { $0.snap.0 } == [0x30])
    }

    @Test func edusDMAReachesMemoryOnlyWhileBusMasteringIsOn() throws {
        let function = try owned()
        let (buffer, fd) = try function.allocateDMA(size: 4096)
        close(fd)
        // edu's buffer (zeros after power-on) into ours, filled with 0xab.
        func transfer() throws -> Int {
            memset(buffer.cpu, 0xab, 64)
            try function.writeRegister(bar: 0, offset: 0x80, width: 8, value: 0x40000)
            try function.writeRegister(bar: 0, offset: 0x88, width: 8, value: buffer.busAddress)
            try function.writeRegister(bar: 0, offset: 0x90, width: 8, value: 64)
            try function.writeRegister(bar: 0, offset: Self.dmaCommand, width: 8, value: Self.dmaRun | Self.dmaToRAM)
            function.advance(to: cdh_monotonic_ns() + 10_000_000)  // past edu's 1 ms transfer
            #expect(try function.readRegister(bar: 0, offset: Self.dmaCommand, width: 8) & Self.dmaRun == 0)
            return UnsafeRawBufferPointer(start: buffer.cpu, count: 64).filter { $0 == 0xab }.count
        }
        #expect(try transfer() == 64)  // a master abort: memory untouched
        function.setBusMaster(true)
        #expect(try transfer() == 0)
    }

    // MARK: Errors (AER)

    @Test func anInjectedErrorIsAnErrorRecordForTheOwner() throws {
        let function = try owned()
        try function.injectError(channelState: 2)
        let events = function.readEvents(max: 64)
        #expect(events.count == 1)
        #expect(events.first?.flags == UInt32(DRVPROXY_EVENT_ERROR))
        #expect(events.first?.nsnap == 1 && events.first?.snap.0 == 2)
        #expect(function.counters.interrupts == 0)  // not an interrupt
        // On a full ring the error takes the slot kept for last words.
        for i in 0..<(EventRing.capacity + 3) { try function.writeRegister(bar: 0, offset: Self.raise, width: 4, value: UInt64(i + 1)) }
        try function.injectError(channelState: 3)
        var seen: [drvproxy_event] = []
        while case let batch = function.readEvents(max: 64), !batch.isEmpty { seen += batch }
        #expect(seen.count == EventRing.capacity + 1)
        #expect(seen.last?.flags == UInt32(DRVPROXY_EVENT_ERROR | DRVPROXY_EVENT_DROPPED) && seen.last?.dropped == 3)
        #expect(throws: DevSimError.self) { try function.injectError(channelState: 9) }
        function.close()
        // Nobody to tell.
        #expect { try function.injectError(channelState: 2) } throws: { ($0 as? DevSimError)?.code == ENXIO }
    }

    @Test func aSecondOwnerIsBusyAndProgramsAreValidatedByRegprog() throws {
        let function = try owned()
        #expect(throws: DevSimError.self) { _ = try function.open(owner: 2) }
        let outside = [insn(DRVPROXY_OP_READ, width: 4, offset: 1 << 20)]
        let refused = function.setProgram(kind: UInt32(DRVPROXY_PROG_ACK.rawValue), flags: 0, instructions: outside)
        #expect(refused.status == -EINVAL)
        #expect(refused.error == UInt32(DRVPROXY_EPROG_OUT_OF_RANGE.rawValue))
        #expect(refused.index == 0)
    }
}
