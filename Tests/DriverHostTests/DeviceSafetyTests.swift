import CDrvHost
@testable import DriverHostCore
import Glibc
import Testing
import TestSupport

/// drvproxy ABI 2's guarantees as driverhost uses them: bus mastering only
/// after attach.
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
}
