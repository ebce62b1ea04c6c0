import Foundation
import TestSupport

/// A TAP interface a test's driverhost makes, removed the way hostd
/// removes one at unload (`driverhost --end-device net`).
enum TestTAPInterface {
    static let canMake = FileManager.default.isWritableFile(atPath: "/dev/net/tun") && getuid() == 0

    static func end(_ name: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary("driverhost"))
        process.arguments = ["--end-device", "net", name]
        try? process.run()
        process.waitUntilExit()
    }
}
