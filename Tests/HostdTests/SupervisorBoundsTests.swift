import DriverHostCore
import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport

/// A driverhost that is alive but useless, or that abuses its control
/// channel, is ended by hostd and restarted like a crash, with the reason
/// in its last exit; a refusal says what was refused.
@Suite(.serialized) struct SupervisorBoundsTests {
    /// The first end of `instance`'s driverhost (the state change that
    /// leaves `running` or `starting` for `restarting` or `failed`).
    func firstEnd(_ w: SimWorld, _ instance: String, after act: () async throws -> Void) async throws -> InstanceStatus {
        let changes = await w.supervisor.observe()
        try await act()
        return try await within(20, waitingFor: "the end of \(instance)'s driverhost") {
            for await change in changes where change.name == instance && [.restarting, .failed].contains(change.state) {
                return change
            }
            throw TimedOut(description: "no more changes")
        }
    }

    @Test func aStoppedDriverhostIsKilledAndRestarted() async throws {
        let w = try simWorld(autoload: false) { config in
            config.limits.maxCallbackMs = 200
            // Long enough that the restarted driverhost, which must stay,
            // answers in time on a loaded test host (400 ms did not, once).
            config.livenessMs = 1500
            config.warmStandby = false
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let pid = try #require(try await w.supervisor.status("edu@sim:edu0").pid)
        let changes = await w.supervisor.observe()
        kill(pid, SIGSTOP)
        let seen = try await within(20, waitingFor: "the restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        let ended = try #require(seen.first)
        #expect(ended.state == .restarting)
        #expect(ended.lastExit?.hasPrefix("signal 9 (SIGKILL): killed by hostd: it answered no heartbeat for 1500 ms") == true,
                "\(ended.lastExit ?? "-")")
        #expect(seen.last?.restarts == 1 && seen.last?.pid != pid)
        // The new one answers its heartbeats: it stays (one restart only).
        _ = try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["3"])
        #expect(try await w.supervisor.status("edu@sim:edu0").restarts == 1)
        _ = try await w.supervisor.unload("edu@sim:edu0")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aDriverhostStoppedInAttachIsKilled() async throws {
        let w = try simWorld(autoload: false, extraPlugins: ["stop.so": RepoPaths.testPlugin("attach-stop")]) { config in
            config.limits.maxAttachMs = 300
            config.limits.maxCallbackMs = 100
            config.livenessMs = 300
            config.warmStandby = false
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let ended = try await firstEnd(w, "misbehave@sim:edu0") {
            _ = try await w.supervisor.load(plugin: "stop.so", device: "sim:edu0")
        }
        #expect(ended.lastExit?.contains("killed by hostd: it did not attach within 600 ms") == true, "\(ended.lastExit ?? "-")")
        _ = try? await w.supervisor.unload("misbehave@sim:edu0")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aDriverhostThatFloodsItsChannelIsKilled() async throws {
        let w = try simWorld(autoload: false, extraPlugins: ["flood.so": RepoPaths.testPlugin("flood-control")]) { config in
            config.warmStandby = false
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let ended = try await firstEnd(w, "misbehave@sim:edu0") {
            _ = try await w.supervisor.load(plugin: "flood.so", device: "sim:edu0")
        }
        #expect(ended.lastExit?.contains("killed by hostd: it sent a line longer than 65536 bytes on its control channel") == true,
                "\(ended.lastExit ?? "-")")
        _ = try? await w.supervisor.unload("misbehave@sim:edu0")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aRefusedProgramSaysWhichAccessLiesOutsideWhichBAR() async throws {
        let w = try simWorld(autoload: false, extraPlugins: ["far.so": RepoPaths.testPlugin("ack-out-of-range")])
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let loaded = try await w.supervisor.load(plugin: "far.so", device: "sim:edu0")
        let failure = try #require(loaded.first?.failure)
        #expect(failure.contains("exit 12 (invalid descriptor): plugin test-counter: invalid for this device: ACK program instruction 0: offset outside the BAR (4-byte access at BAR0 offset 0x100000; BAR0 is 1048576 bytes)"), "\(failure)")
        #expect(failure.hasSuffix("restarting cannot help"))
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    /// Without cgroup v2 (as on this test machine) the memory limit is an
    /// rlimit: the plugin's allocations fail at the limit, nothing else
    /// suffers. (The VM suite 40-hostd covers the cgroup.)
    @Test func anInstanceGetsNoMoreMemoryThanItsLimit() async throws {
        let w = try simWorld(autoload: false, extraPlugins: ["hog.so": RepoPaths.testPlugin("hog")]) { config in
            config.resources.memoryMaxMB = 64
            config.cgroupMount = nil
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "hog.so", device: "sim:edu0")
        let got = try #require(UInt32(try await w.supervisor.call("misbehave@sim:edu0", command: "hog", arguments: ["1000"])))
        #expect(got > 8 && got < 64, "took \(got) MiB under a 64 MiB limit")
        _ = try await w.supervisor.unload("misbehave@sim:edu0")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func inputBeyondTheBudgetIsRefused() {
        var budget = InputBudget()
        let start = ContinuousClock.now
        #expect(budget.take(bytes: 100, pending: 100, now: start) == nil)
        #expect(budget.take(bytes: 10, pending: 70_000, now: start)?.contains("longer than") == true)
        var flood = InputBudget()
        #expect(flood.take(bytes: 1 << 19, pending: 0, now: start) == nil)
        #expect(flood.take(bytes: 1 << 19, pending: 0, now: start + .milliseconds(500)) == nil)
        #expect(flood.take(bytes: 1, pending: 0, now: start + .milliseconds(900))?.contains("flooded") == true)
        // A new second, a new allowance.
        var steady = InputBudget()
        #expect(steady.take(bytes: 1 << 20, pending: 0, now: start) == nil)
        #expect(steady.take(bytes: 1 << 20, pending: 0, now: start + .seconds(2)) == nil)
    }
}
