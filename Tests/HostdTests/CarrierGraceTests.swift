import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport

/// A net instance's interface keeps its carrier while its driverhost
/// restarts within the carrier grace (hostd.toml [net] carrier_grace_ms),
/// and loses it once nobody has driven it for longer. Real TAP interfaces,
/// the loop-back test plugins on devsim's edu device, the real driverhost.
@Suite(.serialized, .enabled(if: TestTAPInterface.canMake, "needs /dev/net/tun as root"))
struct CarrierGraceTests {
    static let instance = "net-loop@sim:edu0"

    func attribute(_ interface: String, _ file: String) -> String? {
        try? String(contentsOfFile: "/sys/class/net/\(interface)/\(file)", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls (bounded) until `condition` holds.
    func waitUntil(_ what: String, _ condition: @escaping @Sendable () async -> Bool) async throws {
        try await within(15, waitingFor: what) {
            while !(await condition()) { try await Task.sleep(for: .milliseconds(5)) }
        }
    }

    func counter(_ status: InstanceStatus, _ name: String) -> UInt64? {
        status.classCounters?.first { $0.name == name }?.value
    }

    /// A world with `plugin` as net-loop.so, loaded on sim:edu0, its link up
    /// and hostd told so; returns the interface's name.
    func loaded(_ plugin: String, graceMs: Int, initialBackoffMs: Int = 1, prefix: String) async throws -> (SimWorld, String) {
        let w = try simWorld(autoload: false, extraPlugins: ["net-loop.so": RepoPaths.testPlugin(plugin)]) {
            $0.carrierGraceMs = graceMs
            $0.netInterfaceName = prefix + "{pci}"
            $0.restart = .init(maxCrashes: 5, windowMs: 60_000, initialBackoffMs: initialBackoffMs, maxBackoffMs: initialBackoffMs)
        }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "net-loop.so", device: "sim:edu0")
        let supervisor = w.supervisor
        let status = try await supervisor.status(Self.instance)
        let interface = try #require(status.classDevice?.name)
        // The kernel shows a carrier only on an interface that is up.
        try setUp(interface)
        if plugin == "net-loop-cold" {
            // Its own "down" first, so that it cannot come after the "up".
            try await waitUntil("the plugin's link down") {
                (try? await supervisor.call(Self.instance, command: "links_said", arguments: [])) == "1"
            }
            _ = try await supervisor.call(Self.instance, command: "set_link", arguments: ["1"])
        }
        try await waitUntil("the link up, as hostd hears it") {
            guard let status = try? await supervisor.status(Self.instance) else { return false }
            return self.counter(status, "carrier") == 1
        }
        #expect(attribute(interface, "carrier") == "1")
        return (w, interface)
    }

    func setUp(_ interface: String) throws {
        let ip = Process()
        ip.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        ip.arguments = ["link", "set", interface, "up"]
        try ip.run()
        ip.waitUntilExit()
        #expect(ip.terminationStatus == 0)
    }

    func crash(_ w: SimWorld) async throws -> InstanceStatus {
        let before = try await w.supervisor.status(Self.instance)
        kill(try #require(before.pid), SIGKILL)
        let supervisor = w.supervisor
        try await waitUntil("a new driverhost running") {
            guard let now = try? await supervisor.status(Self.instance) else { return false }
            return now.state == .running && now.pid != before.pid && now.restarts == before.restarts + 1
        }
        return try await supervisor.status(Self.instance)
    }

    func end(_ w: SimWorld) async {
        _ = try? await w.supervisor.unload(Self.instance)
        await w.supervisor.shutdown()
        _ = w.devsim.stop()
        try? FileManager.default.removeItem(atPath: w.plugins)
    }

    /// The restart is no link change: the carrier never goes off, so the
    /// kernel drops nothing TCP sends meanwhile.
    @Test func aRestartWithinTheGraceKeepsTheCarrier() async throws {
        let (w, interface) = try await loaded("net-loop", graceMs: 30_000, prefix: "dhcg")
        let changes = try #require(attribute(interface, "carrier_changes"))
        let supervisor = w.supervisor
        for _ in 0..<2 {
            _ = try await crash(w)
            try await waitUntil("the new plugin's link up") {
                guard let status = try? await supervisor.status(Self.instance) else { return false }
                return self.counter(status, "carrier") == 1
            }
        }
        #expect(attribute(interface, "carrier_changes") == changes)
        #expect(attribute(interface, "carrier") == "1")
        await end(w)
    }

    /// Without a grace (0) the carrier goes off at the crash and on again.
    @Test func noGraceTurnsTheCarrierOffWhileNobodyDrives() async throws {
        let (w, interface) = try await loaded("net-loop", graceMs: 0, prefix: "dhcn")
        let changes = try #require(attribute(interface, "carrier_changes").flatMap { Int($0) })
        _ = try await crash(w)
        try await waitUntil("the carrier on again") { self.attribute(interface, "carrier") == "1" }
        #expect(attribute(interface, "carrier_changes").flatMap { Int($0) } == changes + 2)
        await end(w)
    }

    /// A restart that waits longer than the grace (a crash's backoff here):
    /// the carrier goes off while nobody drives the interface, and the
    /// restarted plugin's link turns it on again.
    @Test func aRestartLaterThanTheGraceTurnsTheCarrierOff() async throws {
        let (w, interface) = try await loaded("net-loop", graceMs: 100, initialBackoffMs: 6_000, prefix: "dhcb")
        _ = try await crash(w)  // the first crash restarts at once
        let supervisor = w.supervisor
        try await waitUntil("the new plugin's link up") {
            guard let status = try? await supervisor.status(Self.instance) else { return false }
            return self.counter(status, "carrier") == 1
        }
        let before = try await supervisor.status(Self.instance)
        kill(try #require(before.pid), SIGKILL)  // the second waits out its backoff
        try await waitUntil("the carrier off") { self.attribute(interface, "carrier") == "0" }
        #expect(try await supervisor.status(Self.instance).state == .restarting)
        try await waitUntil("the restart and its link") {
            guard let now = try? await supervisor.status(Self.instance) else { return false }
            return now.state == .running && now.pid != before.pid && self.attribute(interface, "carrier") == "1"
        }
        await end(w)
    }

    /// The restarted plugin's NIC says its link is down (just reset): the
    /// carrier stays on until the grace ends, then goes off; its link up
    /// turns it on again.
    @Test func aLinkStillDownWhenTheGraceEndsTurnsTheCarrierOff() async throws {
        let (w, interface) = try await loaded("net-loop-cold", graceMs: 8_000, prefix: "dhcc")
        let supervisor = w.supervisor
        _ = try await crash(w)
        try await waitUntil("the new plugin's link down") {
            (try? await supervisor.call(Self.instance, command: "links_said", arguments: [])) == "1"
        }
        #expect(attribute(interface, "carrier") == "1", "off before the grace ended")
        try await waitUntil("the carrier off at the grace's end") { self.attribute(interface, "carrier") == "0" }
        _ = try await supervisor.call(Self.instance, command: "set_link", arguments: ["1"])
        try await waitUntil("the carrier on with the link") { self.attribute(interface, "carrier") == "1" }
        await end(w)
    }
}
