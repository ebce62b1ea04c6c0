import CDrvHost
@testable import DriverHostCore
import Testing
import DevSimClient

/// Which interrupt modes driverhost tries, in order (InterruptPlan).
@Suite struct InterruptPlanTests {
    typealias Step = InterruptPlan.Step
    let all = UInt32(DRVPROXY_IRQ_KIND_INTX | DRVPROXY_IRQ_KIND_MSI | DRVPROXY_IRQ_KIND_MSIX)

    func device(kinds: UInt32, msix: UInt32 = 0, intxDisable: Bool = true) -> DeviceInfo {
        var info = DeviceInfo(vendor: 0x1b36, device: 0x10, bars: [], irqKinds: kinds,
                              flags: intxDisable ? UInt32(DRVPROXY_INFO_INTX_DISABLE) : 0)
        info.msixVectors = msix
        return info
    }

    @Test func msixFallsBackThroughMSIAndBothINTxModes() {
        let plan = InterruptPlan(declared: DH_IRQ_MSIX.rawValue, vectors: 16, hasAck: true,
                                 ackModes: 1 << DH_IRQ_INTX_SHARED.rawValue, device: device(kinds: all, msix: 65))
        #expect(plan.steps == [Step(mode: DH_IRQ_MSIX.rawValue, vectors: 16, withAck: false),
                               Step(mode: DH_IRQ_MSI.rawValue, vectors: 1, withAck: false),
                               Step(mode: DH_IRQ_INTX_DISABLE.rawValue, vectors: 1, withAck: false),
                               Step(mode: DH_IRQ_INTX_SHARED.rawValue, vectors: 1, withAck: true)])
    }

    @Test func msixGetsNoMoreVectorsThanTheDeviceHas() {
        let plan = InterruptPlan(declared: DH_IRQ_MSIX.rawValue, vectors: 16, hasAck: false,
                                 device: device(kinds: UInt32(DRVPROXY_IRQ_KIND_MSIX | DRVPROXY_IRQ_KIND_INTX), msix: 4, intxDisable: false))
        // No MSI, no INTx-disable bit, no ACK program: no shared line either.
        #expect(plan.steps == [Step(mode: DH_IRQ_MSIX.rawValue, vectors: 4, withAck: false)])
    }

    @Test func anINTxPluginGetsExactlyItsModeWithItsAck() {
        let plan = InterruptPlan(declared: DH_IRQ_INTX_SHARED.rawValue, vectors: 0, hasAck: true, device: device(kinds: all, msix: 8))
        #expect(plan.steps == [Step(mode: DH_IRQ_INTX_SHARED.rawValue, vectors: 1, withAck: true)])
    }

    @Test func aForcedModeIsTheOnlyStep() {
        let plan = InterruptPlan(declared: DH_IRQ_MSIX.rawValue, vectors: 16, forced: DH_IRQ_INTX_SHARED.rawValue,
                                 hasAck: true, device: device(kinds: all, msix: 65))
        #expect(plan.steps == [Step(mode: DH_IRQ_INTX_SHARED.rawValue, vectors: 1, withAck: true)])
        let msix = InterruptPlan(declared: DH_IRQ_MSIX.rawValue, vectors: 16, forced: DH_IRQ_MSIX.rawValue,
                                 hasAck: true, ackModes: 1 << DH_IRQ_INTX_SHARED.rawValue, device: device(kinds: all, msix: 2))
        #expect(msix.steps == [Step(mode: DH_IRQ_MSIX.rawValue, vectors: 2, withAck: false)])
    }

    /// Without ack_modes (a 1.0/1.1 plugin, or 0), the ACK program runs in
    /// every mode: MSI events get the snapshot of a read-to-clear register.
    @Test func theACKProgramServesEveryModeUnlessNamed() {
        let plan = InterruptPlan(declared: DH_IRQ_MSI.rawValue, vectors: 0, hasAck: true, device: device(kinds: all, msix: 0))
        #expect(plan.steps.allSatisfy { $0.withAck })
        #expect(plan.steps.first?.mode == DH_IRQ_MSI.rawValue)
    }
}
