import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport

/// hostd's own restart disturbs nothing: a hostd killed with SIGKILL leaves
/// its driverhosts serving their devices, and the next hostd adopts them
/// (same pids, interrupts counted on both ends, none lost). A driverhost that
/// died meanwhile is recovered as after a crash, and a record whose pid now
/// names another process is never adopted. The real hostd, driverhost and
/// devsim binaries, with irq-load.so raising interrupts all the while.
@Suite(.serialized) struct HostdRestartTests {
    static let devices = ["edu0=edu", "edu1=edu", "edu2=edu"]
    static let instances = ["irq-load@sim:edu0", "irq-load@sim:edu1", "irq-load@sim:edu2"]

    /// A quiet point of an instance: the load paused, the one in flight
    /// arrived; what the plugin handled and what the device counted.
    struct Quiet: Equatable {
        var handled: UInt64
        var deviceInterrupts: UInt64
    }

    static func quiet(_ hostd: HostdProcess, _ instance: String) throws -> Quiet {
        #expect(try hostd.call(instance, "pause", "1") == 0)
        let handled = try hostd.call(instance, "handled")
        let interrupts = try #require(try hostd.client().status(instance).interrupts)
        #expect(try hostd.call(instance, "pause", "0") == 0)
        return Quiet(handled: handled, deviceInterrupts: interrupts)
    }

    /// Until every instance has handled some of its load.
    static func loaded(_ hostd: HostdProcess) async throws {
        try await within(20, waitingFor: "interrupt load on every instance") {
            for instance in instances {
                while (try? hostd.call(instance, "handled")) ?? 0 < 20 { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
    }

    static func device(of instance: String) -> String { String(instance.split(separator: "@")[1]) }

    /// A first hostd with its three instances running, and what a test
    /// needs to start the next one; cleanUp() kills what is left.
    struct FirstHostd {
        let devsim: DevSimProcess
        let paths: HostdProcess.Paths
        let hostd: HostdProcess
        let before: [InstanceStatus]
        /// Each instance's driverhost pid under the first hostd.
        let pids: [String: pid_t]

        func cleanUp() {
            for pid in pids.values { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: paths.root)
        }
    }

    static func firstHostd() async throws -> FirstHostd {
        let plugin = RepoPaths.testPlugin("irq-load")
        precondition(FileManager.default.fileExists(atPath: plugin), "\(plugin) is missing: run `make plugins`")
        let devsim = try DevSimProcess(devices)
        let paths = try HostdProcess.Paths.make(plugins: ["irq-load.so": plugin])
        let hostd = try HostdProcess(paths, devsim: devsim)
        let before = try await hostd.running(3, within: 30)
        let pids = Dictionary(uniqueKeysWithValues: try before.map { ($0.name, try #require($0.pid)) })
        return FirstHostd(devsim: devsim, paths: paths, hostd: hostd, before: before, pids: pids)
    }

    @Test func aKilledHostdsDriverhostsAreAdoptedWithNoInterruptLost() async throws {
        let w = try await Self.firstHostd()
        defer { w.cleanUp() }
        let (devsim, paths, first, before, pids) = (w.devsim, w.paths, w.hostd, w.before, w.pids)
        try await Self.loaded(first)
        var quietBefore: [String: Quiet] = [:]
        for instance in Self.instances { quietBefore[instance] = try Self.quiet(first, instance) }

        let devices = DevSimDeviceSource(directory: devsim.directory)
        let atKill = Dictionary(uniqueKeysWithValues: Self.instances.map { ($0, devices.counters(Self.device(of: $0)).interrupts ?? 0) })
        first.kill9()
        // No hostd: the driverhosts go on serving, and the devices count
        // their interrupts (the plugin's own count is checked below).
        try await within(20, waitingFor: "interrupts served with no hostd") {
            for instance in Self.instances {
                while (devices.counters(Self.device(of: instance)).interrupts ?? 0) < atKill[instance]! + 50 {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        #expect(pids.values.allSatisfy { !isGone($0) })

        let second = try HostdProcess(paths, devsim: devsim)
        let after = try await second.running(3, within: 30)
        for status in after {
            #expect(status.pid == pids[status.name], "\(status.name) was not adopted")
            #expect(status.restarts == 0 && status.lastExit == nil)
            let earlier = try #require(before.first { $0.name == status.name })
            #expect((status.interrupts ?? 0) >= (earlier.interrupts ?? .max))
        }
        for instance in Self.instances {
            let now = try Self.quiet(second, instance)
            let then = try #require(quietBefore[instance])
            // Served while no hostd was there, and every one of them seen by
            // the plugin: the device's count and the plugin's moved together.
            #expect(now.handled > then.handled, "\(instance) handled nothing across the restart")
            #expect(now.handled - then.handled == now.deviceInterrupts - then.deviceInterrupts, "\(instance)")
            #expect(try second.call(instance, "lost") == 0, "\(instance) lost interrupts")
        }
        // The adopted driverhosts still obey: SIGTERM unloads them in order.
        #expect(second.terminate() == 0)
        for pid in pids.values { #expect(await gone(pid, within: 10)) }
        #expect(devsim.stop() == 0)
    }

    @Test func aDriverhostThatDiedMeanwhileIsRestartedAndARecycledPidIsNotAdopted() async throws {
        let w = try await Self.firstHostd()
        defer { w.cleanUp() }
        let (devsim, paths, pids) = (w.devsim, w.paths, w.pids)
        w.hostd.kill9()

        // edu0's driverhost dies while no hostd is there.
        let died = try #require(pids["irq-load@sim:edu0"])
        kill(died, SIGKILL)
        #expect(await gone(died, within: 10))
        // edu1's dies too, and its pid is "reused": its record now names a
        // live process that is not a driverhost (another start time).
        let recycled = try #require(pids["irq-load@sim:edu1"])
        kill(recycled, SIGKILL)
        #expect(await gone(recycled, within: 10))
        let stranger = Process()
        stranger.executableURL = URL(fileURLWithPath: "/bin/sleep")
        stranger.arguments = ["60"]
        try stranger.run()
        defer { stranger.terminate() }
        let recordFile = paths.state + "/driverhosts/irq-load@sim:edu1.json"
        var record = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordFile))) as? [String: Any])
        record["pid"] = stranger.processIdentifier
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordFile))

        let second = try HostdProcess(paths, devsim: devsim)
        let after = try await second.running(3, within: 30)
        let byName = Dictionary(uniqueKeysWithValues: after.map { ($0.name, $0) })
        let restarted = try #require(byName["irq-load@sim:edu0"])
        #expect(restarted.pid != died && restarted.restarts == 1)
        #expect(restarted.lastExit?.contains("ended while hostd was not running") == true, "\(restarted.lastExit ?? "-")")
        let notAdopted = try #require(byName["irq-load@sim:edu1"])
        #expect(notAdopted.pid != stranger.processIdentifier && notAdopted.pid != recycled && notAdopted.restarts == 1)
        #expect(notAdopted.lastExit?.contains("another process now") == true, "\(notAdopted.lastExit ?? "-")")
        #expect(stranger.isRunning, "hostd touched a process it must not adopt")
        let adopted = try #require(byName["irq-load@sim:edu2"])
        #expect(adopted.pid == pids["irq-load@sim:edu2"] && adopted.restarts == 0)
        for instance in Self.instances { #expect(try second.call(instance, "lost") == 0) }
        #expect(second.terminate() == 0)
        #expect(devsim.stop() == 0)
    }

    /// A plugin file replaced while no hostd ran is the upgrade a running
    /// hostd would have made: the old driverhosts are stopped, new ones run
    /// the new file, and no restart is counted.
    @Test func aPluginReplacedWhileHostdWasDownIsAnUpgradeNotAnAdoption() async throws {
        let w = try await Self.firstHostd()
        defer { w.cleanUp() }
        let (devsim, paths, pids) = (w.devsim, w.paths, w.pids)
        w.hostd.kill9()

        // An atomic replace (copy, then rename over), as README shows.
        let plugin = paths.plugins + "/irq-load.so"
        try FileManager.default.copyItem(atPath: RepoPaths.testPlugin("irq-load"), toPath: plugin + ".new")
        #expect(rename(plugin + ".new", plugin) == 0)

        let second = try HostdProcess(paths, devsim: devsim)
        let after = try await second.running(3, within: 30)
        for status in after {
            #expect(status.pid != pids[status.name], "\(status.name) kept the driverhost of the old file")
            #expect(status.restarts == 0, "\(status.name): \(status.lastExit ?? "-")")
        }
        for pid in pids.values { #expect(await gone(pid, within: 10)) }
        for instance in Self.instances { #expect(try second.call(instance, "lost") == 0) }
        #expect(second.terminate() == 0)
        #expect(devsim.stop() == 0)
    }
}
