import CDrvHost
@testable import DriverHostCore
import Foundation
import Testing
import TestSupport
import DrvHostProtocol

@Suite struct NetInterfaceNameTests {
    private func identity(bus: UInt8, slot: UInt8, function: UInt8 = 0) -> InstanceIdentity {
        InstanceIdentity(bdf: PCIAddress(domain: 0, bus: bus, slot: slot, function: function)!.description)!
    }

    @Test func theDefaultNamesThePluginAndTheSlot() {
        let name = NetInterfaceName.make(pattern: NetInterfaceName.defaultPattern, plugin: "e1000e", identity: identity(bus: 0, slot: 0x10))
        #expect(name == "dh-e1000e-p0s16")
        #expect(NetInterfaceName.problem(name) == nil)
    }

    @Test func aLongPluginNameIsShortenedToFitIFNAMSIZ() {
        let name = NetInterfaceName.make(pattern: NetInterfaceName.defaultPattern, plugin: "a-very-long-plugin-name",
                                         identity: identity(bus: 0x12, slot: 0x1f, function: 3))
        #expect(name == "dh-a-v-p18s31f3")
        #expect(name.utf8.count <= NetInterfaceName.maxLength)
        #expect(NetInterfaceName.problem(name) == nil)
    }

    @Test func badNamesAndPatternsSayWhy() {
        #expect(NetInterfaceName.problem("") != nil)
        #expect(NetInterfaceName.problem("sixteen-chars-xx")?.contains("longer than 15") == true)
        #expect(NetInterfaceName.problem("a/b") != nil)
        #expect(NetInterfaceName.problem("eth 0") != nil)
        #expect(NetInterfaceName.problem("..") != nil)
        #expect(NetInterfaceName.patternProblem("dh-{bdf}")?.contains("placeholders") == true)
        #expect(NetInterfaceName.patternProblem("a-name-far-too-long{pci}") != nil)
        #expect(NetInterfaceName.patternProblem("lan{pci}") == nil)
    }
}

private func canMakeTAP() -> Bool {
    let fd = cdh_tap_attach("dhtcheck0", 0)
    guard fd >= 0 else { return false }
    close(fd)  // not persistent: the interface goes with the descriptor
    return true
}

/// The net class on a real TAP interface, with the loop-back test plugin on
/// a simulated edu device. Needs /dev/net/tun and CAP_NET_ADMIN.
@Suite(.enabled(if: canMakeTAP(), "needs /dev/net/tun and CAP_NET_ADMIN"))
struct NetClassProcessTests {
    private func attribute(_ name: String, _ file: String) -> String? {
        try? String(contentsOfFile: "/sys/class/net/\(name)/\(file)", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func theInterfaceOutlivesDriverhostUntilEnded() throws {
        let name = "dhtap0s0"
        _ = try? runDriverhost(["--end-device", "net", name])
        defer { _ = try? runDriverhost(["--end-device", "net", name]) }
        let loop = RepoPaths.testPlugin("net-loop")

        let first = try runDriverhost(["--simulate", "--plugin", loop, "--net-name", "dhta{pci}",
                                       "--call", "set_link", "1", "--call", "receive_malformed"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("receive_malformed() = 0"))
        // The counters, as driverhost logs them when it stops.
        #expect(first.stderr.contains("rx_malformed=4"))
        #expect(first.stderr.contains("link_changes=1"))
        #expect(first.stderr.contains("carrier=1"))
        // The process is gone; the interface stays, with the plugin's MAC.
        #expect(attribute(name, "address") == "02:00:00:00:00:01")
        #expect(attribute(name, "mtu") == "1500")
        #expect(attribute(name, "tx_queue_len") == "\(TAPInterface.transmitQueueFrames)")

        // A first attach never takes over an interface that exists.
        let stranger = try runDriverhost(["--simulate", "--plugin", loop, "--net-name", "dhta{pci}"])
        #expect(stranger.status == ExitCode.deviceClassFailed.rawValue)
        #expect(stranger.stderr.contains("already exists and is not this instance's"))

        // The instance's next driverhost attaches to it again.
        let again = try runDriverhost(["--simulate", "--plugin", loop, "--class-device", "net:\(name)", "--call", "set_link", "0"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stderr.contains("attached the 1 queue(s) of interface \(name) again"))

        let end = try runDriverhost(["--end-device", "net", name])
        #expect(end.status == 0, "\(end.stderr)")
        #expect(attribute(name, "address") == nil)
        // Idempotent: a device that is gone already is fine.
        #expect(try runDriverhost(["--end-device", "net", name]).status == 0)
    }

    @Test func endDeviceLeavesWhatIsNotATAPAlone() throws {
        let run = try runDriverhost(["--end-device", "net", "lo"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("lo is not a TAP interface"))
        #expect(attribute("lo", "address") != nil)
    }
}
