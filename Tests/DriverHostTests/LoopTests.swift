import CDrvHost
@testable import DriverHostCore
import Foundation
import Testing
import DrvHostProtocol

/// The event loop on the simulated (eventfd) device, in this process.
@Suite struct LoopTests {
    @Test func installsProgramsAndInterruptMode() throws {
        let (instance, device) = try attachedInstance()
        defer { instance.detach() }
        #expect(device.installed[.ack]?.count == 4)
        #expect(device.installed[.release]?.count == 4)
        #expect(device.interruptMode == DH_IRQ_INTX_SHARED.rawValue)
    }

    @Test func deliversEveryEventOnceThroughTheMainLoop() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        #expect(try instance.call("arm", arguments: ["5000"]).text == "5000")
        _ = try instance.runLoop(stopAfterEvents: 5000)
        #expect(try instance.call("count", arguments: []).text == "5000")
    }

    @Test func commandsWaitForEventsAndTimers() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        #expect(try instance.call("run", arguments: ["1000"]).text == "1000")
        #expect(try instance.call("fire_timer", arguments: ["7"]).text == "8")
        #expect(try instance.call("add", arguments: ["-5", "3"]).text == "-2")
        #expect(try instance.call("half", arguments: ["3"]).text == "1.5")
        #expect(try instance.call("nothing", arguments: []).text == "void")
    }

    @Test func refusesBadCalls() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        #expect(throws: HostFailure.self) { try instance.call("nope", arguments: []) }
        #expect(throws: HostFailure.self) { try instance.call("add", arguments: ["1"]) }
        #expect(throws: HostFailure.self) { try instance.call("run", arguments: ["x"]) }
    }

    @Test func savedStateSurvivesAnotherInstance() throws {
        let path = NSTemporaryDirectory() + "drvhost-state-\(getpid())"
        defer { unlink(path) }
        let store = StateStore(path: path)
        let blob: [UInt8] = [1, 2, 3, 4]
        #expect(blob.withUnsafeBytes { store.save($0) } == DH_OK)
        var size: UInt32 = 0
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(buffer.withUnsafeMutableBytes { StateStore(path: path).load(into: $0, size: &size) } == DH_OK)
        #expect(Array(buffer[..<Int(size)]) == blob)
        var small = [UInt8](repeating: 0, count: 2)
        #expect(small.withUnsafeMutableBytes { store.load(into: $0, size: &size) } == DH_ERR_INVALID)
        #expect(StateStore(path: nil).save(UnsafeRawBufferPointer(start: nil, count: 0)) == DH_ERR_NOT_SUPPORTED)
    }
}
