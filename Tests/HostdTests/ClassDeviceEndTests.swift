import Foundation
import Glibc
@testable import HostdCore
import DrvHostProtocol
import Testing
import TestSupport

/// Ending a class device (`driverhost --end-device`), waited for by the
/// one watcher: its error is the reason, and a run that hangs is killed at
/// its bound instead of holding up an unload.
@Suite struct ClassDeviceEndTests {
    @Test func aRefusalIsTheReason() async {
        let outcome = await ClassDeviceEnd.run(driverhost: RepoPaths.binary("driverhost"),
                                               device: ClassDevice(kind: "bogus", name: "nothing"), bound: .seconds(60))
        guard case .failed(let reason) = outcome else {
            Issue.record("ended: \(outcome)")
            return
        }
        #expect(reason.contains("unknown device class \"bogus\""), "\(reason)")
        #expect(reason.hasSuffix("[\(ExitStatus.exited(2))]"), "\(reason)")
    }

    @Test func aRunThatHangsIsKilledAtItsBound() async throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("hanging-end-\(getpid()).sh").path
        try "#!/bin/sh\necho starting >&2\nexec sleep 600\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        defer { unlink(script) }
        let outcome = await ClassDeviceEnd.run(driverhost: script, device: ClassDevice(kind: "net", name: "dhtend0"),
                                               bound: .milliseconds(200))
        #expect(outcome == .failed("driverhost --end-device took longer than 0.2 seconds; killed"))
    }
}
