import CDrvHost
@testable import DriverHostCore
import Glibc
import Testing
import TestSupport
import DrvHostProtocol

/// drvproxy ABI 2's guarantees as driverhost uses them: bus mastering only
/// after attach, the DMA mode in the log, EPERM at open, ERROR records.
@Suite struct DeviceSafetyTests {
    func instance(_ plugin: String, on device: DeviceBackend) throws -> Instance {
        let descriptor = try loadDescriptor(plugin)
        let instance = try Instance(descriptor: descriptor, device: device, identity: InstanceIdentity(bdf: "0000:00:05.0")!,
                                    log: Log(prefix: "test", threshold: .error), state: StateStore(path: nil))
        try instance.setUpDevice()
        return instance
    }

    @Test func busMasteringComesOnOnlyOnceAttachSucceeded() throws {
        let device = try SimulatedDevice()
        let good = try instance("good", on: device)
        #expect(!device.busMaster)
        try good.attach()
        #expect(device.busMaster)
        good.detach()

        let refused = try SimulatedDevice()
        let failing = try instance("attach-fails", on: refused)
        #expect(throws: HostFailure.self) { try failing.attach() }
        #expect(!refused.busMaster)
    }

    @Test func theOpenLogLineSaysTheDMAModeAndReset() {
        func report(_ flags: UInt32) -> [String] {
            var info = SimulatedDevice.eduLike
            info.flags = flags
            return info.safetyReport.map { "\($0.0): \($0.1)" }
        }
        #expect(report(DRVPROXY_INFO_DMA_CONFINED | DRVPROXY_INFO_RESET) == ["info: device open: DMA confined, reset yes"])
        #expect(report(DRVPROXY_INFO_DMA_CONFINED)
                == ["info: device open: DMA confined, reset no (the release program is the only safety net)"])
        let unsafe = report(DRVPROXY_INFO_DMA_UNSAFE | DRVPROXY_INFO_RESET)
        #expect(unsafe.count == 2)
        #expect(unsafe.first == "info: device open: DMA unsafe, reset yes")
        #expect(unsafe.last?.hasPrefix("warning: DMA is not confined: no IOMMU stands between this device and memory") == true)
    }

    @Test func openRefusedForWantOfAnIOMMUHasItsOwnExitCodeAndSaysWhatToDo() {
        let refused = ProxyDevice.openFailure("/dev/drvproxy/0000:00:05.0", EPERM)
        #expect(refused.exitCode == .dmaNotConfined)
        #expect(refused.message.contains("DMA cannot be confined (no IOMMU"))
        #expect(refused.message.contains("allow_unsafe_dma"))
        let busy = ProxyDevice.openFailure("/dev/drvproxy/0000:00:05.0", EBUSY)
        #expect(busy.exitCode == .deviceUnavailable)
        #expect(busy.message == "cannot open /dev/drvproxy/0000:00:05.0: Device or resource busy")
    }

    @Test func anErrorRecordStopsTheLoopAndNothingAfterItReachesThePlugin() throws {
        let device = try FailingDevice()
        let good = try instance("good", on: device)
        try good.attach()
        device.arm()
        let reason = try good.runLoop()
        #expect(reason == .deviceError(DeviceErrorReport(channelState: 2, sequence: 2)))
        // The interrupt before the error was delivered, the one after it not.
        #expect(try good.call("count", arguments: []).text == "1")
        // wait_events refuses from now on (fire_timer gives 0 when it fails).
        #expect(try good.call("fire_timer", arguments: ["1"]).text == "0")
        #expect(DeviceErrorReport(channelState: 3, sequence: 9).description
                == "the PCI core reported an error on the device (AER, channel state permanent failure, event 9)")
        good.detach()
    }
}
