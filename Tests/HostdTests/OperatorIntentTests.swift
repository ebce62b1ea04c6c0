import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport

/// What the operator said survives hostd's restart: an instance unloaded by
/// hand stays unloaded (autoload and a touched plugin file pass it by), and
/// restart counts go on.
@Suite(.serialized) struct OperatorIntentTests {
    @Test func anUnloadedInstanceStaysUnloadedAcrossRestartsAndFileChanges() async throws {
        let w = try simWorld(autoload: true) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        #expect(await w.supervisor.instances().map(\.name) == ["edu@sim:edu0", "edu@sim:edu1"])
        #expect(try await w.supervisor.unload("edu@sim:edu1") == ["edu@sim:edu1"])
        // One crash of edu0, so that there is a history to keep.
        let changes = await w.supervisor.observe()
        kill(try #require(try await w.supervisor.status("edu@sim:edu0").pid), SIGKILL)
        _ = try await within(10, waitingFor: "restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        await w.supervisor.shutdown()

        // A new hostd on the same directories, the same devsim.
        let again = Supervisor(config: await w.supervisor.config, logger: .init(label: "test"),
                               reader: await w.supervisor.reader)
        try await again.start()
        let running = await again.instances()
        #expect(running.map(\.name) == ["edu@sim:edu0"])
        #expect(running.first?.restarts == 1 && running.first?.lastExit == "signal 9 (SIGKILL)")
        // A new file under the same name restarts edu0 on it, and spreads nowhere.
        let touched = await again.observe()
        try replaceByRename(w.plugins + "/edu.so")  // the directory watcher sees it
        _ = try await within(10, waitingFor: "edu@sim:edu0 on the touched file") {
            await HostdTests.changes(touched, until: .running, of: "edu@sim:edu0")
        }
        #expect(await again.instances().map(\.name) == ["edu@sim:edu0"])
        #expect(await again.instances().first?.restarts == 1, "an upgrade is not a crash")
        // Loading by hand lifts the operator's own unload.
        _ = try await again.load(plugin: "edu.so", device: "sim:edu1")
        await again.shutdown()
        let third = Supervisor(config: await w.supervisor.config, logger: .init(label: "test"), reader: await w.supervisor.reader)
        try await third.start()
        #expect(await third.instances().map(\.name) == ["edu@sim:edu0", "edu@sim:edu1"])
        await third.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func anUnloadedPluginIsNotSpreadByItsFileUntilTheFileIsRemoved() async throws {
        let w = try simWorld(autoload: true) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        #expect(try await w.supervisor.unload("edu") == ["edu@sim:edu0", "edu@sim:edu1"])
        await w.supervisor.pluginArrived("edu.so")  // touched, replaced in place
        #expect(await w.supervisor.instances().isEmpty)
        // Removed, then dropped in again (hostd's directory watcher sees
        // both): a new plugin, autoloaded.
        let file = w.plugins + "/edu.so", aside = w.plugins + "/.edu.so.aside"
        try FileManager.default.moveItem(atPath: file, toPath: aside)
        let supervisor = w.supervisor
        try await within(10, waitingFor: "edu.so's removal") {
            while await supervisor.plugins().contains(where: { $0.file == "edu.so" }) { try await Task.sleep(for: .milliseconds(10)) }
        }
        try FileManager.default.moveItem(atPath: aside, toPath: file)
        try await within(10, waitingFor: "edu.so autoloaded again") {
            while await supervisor.instances().filter({ $0.state == .running }).count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(await w.supervisor.instances().map(\.name) == ["edu@sim:edu0", "edu@sim:edu1"])
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aSavedIntentThatCannotBeReadIsReported() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("intent-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = OperatorIntentStore(path: path)
        #expect(try store.load().get() == OperatorIntent())
        var intent = OperatorIntent()
        intent.unloaded(instance: "edu@0000:00:05.0")
        try store.save(intent)
        #expect(try store.load().get() == intent)
        try "{not json".write(toFile: path, atomically: false, encoding: .utf8)
        guard case .failure(let why) = store.load() else {
            Issue.record("garbage read as an intent")
            return
        }
        #expect(why.description.contains("is not a saved intent"))
    }
}

/// SIGHUP's reload: what decides from now on changes, what was set up at
/// start stays and is named.
@Suite struct ReloadTests {
    @Test func aReloadAppliesLimitsAndPolicyAndNamesWhatNeedsARestart() async throws {
        let w = try simWorld(autoload: false)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        var new = await w.supervisor.config
        new.socketPath = "/elsewhere/control.sock"
        new.livenessMs = 60_000
        new.ignore = ["0000:00:05.0"]
        new.resources.memoryMaxMB = 128
        let needRestart = await w.supervisor.reload(new)
        #expect(needRestart == ["socket"])
        let now = await w.supervisor.config
        #expect(now.socketPath != "/elsewhere/control.sock")
        #expect(now.livenessMs == 60_000 && now.resources.memoryMaxMB == 128)
        #expect(await w.supervisor.claimPolicy.ignore == ["0000:00:05.0"])
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}

/// A plugin file overwritten in place under its driverhosts is an upgrade
/// gone wrong, not a plugin crash: it never counts toward failed.
@Suite(.serialized) struct InPlaceUpgradeTests {
    @Test func aFileIdentityChangesWithAnInPlaceWriteAndWithARename() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("identity-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/p.so"
        try "one".write(toFile: path, atomically: false, encoding: .utf8)
        let first = try #require(PluginFileIdentity(path: path))
        #expect(PluginFileIdentity(path: path) == first)
        try "two!".write(toFile: path, atomically: false, encoding: .utf8)      // in place
        let second = try #require(PluginFileIdentity(path: path))
        #expect(second != first && second.inode == first.inode)
        try "two!".write(toFile: path, atomically: true, encoding: .utf8)       // new file renamed over
        #expect(PluginFileIdentity(path: path)?.inode != second.inode)
        #expect(PluginFileIdentity(path: dir + "/missing.so") == nil)
    }

    @Test func overwritingAPluginUnderItsDriverhostsNeverFailsTheInstance() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = false }  // max_crashes 3
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let overwriter = try InPlaceOverwriter(w.plugins + "/edu.so")
        for round in 1...4 {
            let before = try await w.supervisor.status("edu@sim:edu0")
            let changes = await w.supervisor.observe()
            try overwriter.overwrite()
            kill(try #require(before.pid), SIGBUS)  // what touching the changed mapping does
            let seen = try await within(10, waitingFor: "edu@sim:edu0 back after overwrite \(round)") {
                await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
            }
            #expect(!seen.contains { $0.state == .failed }, "round \(round): \(seen.map(\.state))")
            #expect(seen.first?.lastExit?.hasSuffix("its plugin file was replaced in place (install or mv a new file instead); not counted as a crash") == true)
        }
        #expect(try await w.supervisor.status("edu@sim:edu0").state == .running)
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}
