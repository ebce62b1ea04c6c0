import DrvHostControl
import Foundation
import Glibc
import HostdCore
import Logging
import Testing
import TestSupport

/// The supervisor's decisions on a fake world: PCI devices from an lspci -x
/// dump, a sysfs-shaped directory, and a shell script standing in for
/// driverhost (Fixtures/fake-driverhost.sh) that speaks its control protocol.
/// State changes are awaited through Supervisor.observe(), never by sleeping.
@Suite struct SupervisorTests {
    static let fake = RepoPaths.root.appendingPathComponent("Tests/HostdTests/Fixtures/fake-driverhost.sh").path
    static let eduFree = "0000:00:05.0"
    static let eduOnUio = "0000:00:06.0"

    struct World {
        let pci: FakePCI
        let supervisor: Supervisor
        var plugins: String { pci.directory + "/plugins" }

        func releases(_ bdf: String) -> String? {
            pci.sysfs.read(pci.sysfs.devicePath(bdf) + "/drvproxy/releases")
        }

        /// (fake driverhost, the sleep it left behind), in start order.
        func children() throws -> [(parent: pid_t, child: pid_t)] {
            try String(contentsOfFile: plugins + "/.good.so.children", encoding: .utf8)
                .split(separator: "\n").map { line in
                    let pids = line.split(separator: " ").compactMap { pid_t($0) }
                    return (pids[0], pids[1])
                }
        }
    }

    func world(mode: String, warmStandby: Bool = true, orphans: Bool = false) throws -> World {
        let pci = try FakePCI([
            .init(bdf: "00:03.0", vendor: 0x8086, device: 0x100e, classCode: 0x020000, driver: "e1000"),
            .init(bdf: "00:05.0", vendor: 0x1234, device: 0x11e8, classCode: 0x00ff00),
            .init(bdf: "00:06.0", vendor: 0x1234, device: 0x11e8, classCode: 0x00ff00, driver: "uio_pci_generic"),
        ])
        for bdf in ["0000:00:03.0", Self.eduFree, Self.eduOnUio] {
            let counters = pci.sysfs.devicePath(bdf) + "/drvproxy"
            try FileManager.default.createDirectory(atPath: counters, withIntermediateDirectories: true)
            try "0\n".write(toFile: counters + "/releases", atomically: false, encoding: .utf8)
            // One with an IOMMU and a reset method, one with neither.
            try (bdf == Self.eduOnUio ? "unsafe\n" : "confined\n").write(toFile: counters + "/dma_mode", atomically: false, encoding: .utf8)
            try (bdf == Self.eduOnUio ? "0\n" : "1\n").write(toFile: counters + "/reset", atomically: false, encoding: .utf8)
        }
        let plugins = pci.directory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: RepoPaths.testPlugin("good"), toPath: plugins + "/good.so")
        chmod(plugins + "/good.so", 0o644)
        let match = #"{"vendor":4660,"vendorMask":65535,"device":4584,"deviceMask":65535,"subvendor":0,"subvendorMask":0,"subdevice":0,"subdeviceMask":0,"classCode":0,"classMask":0}"#
        try #"{"name":"good","version":"1","abi":"1.1","irqMode":"intx-shared","matches":[\#(match)],"commands":[{"name":"add","signature":"i64(i64,i32)"}]}"#
            .write(toFile: plugins + "/.good.so.json", atomically: false, encoding: .utf8)
        try mode.write(toFile: plugins + "/.good.so.mode", atomically: false, encoding: .utf8)
        if orphans { _ = FileManager.default.createFile(atPath: plugins + "/.good.so.orphan", contents: nil) }

        var config = HostdConfig()
        config.pluginDirectory = plugins
        config.stateDirectory = pci.directory + "/state"
        config.intentDirectory = pci.directory + "/intent"
        config.driverhostPath = Self.fake
        config.sysfsRoot = pci.sysfs.root
        config.pciDump = pci.dump
        config.pciIDs = "/usr/share/misc/pci.ids"
        config.deviceDirectory = pci.directory + "/no-dev"
        config.autoload = false
        config.claim = [Self.eduOnUio]
        config.warmStandby = warmStandby
        config.restart = .init(maxCrashes: 3, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 4)
        let reader = DescriptorReader(driverhostPath: Self.fake, requiredOwner: getuid())
        return World(pci: pci, supervisor: Supervisor(config: config, logger: Logger(label: "test"), reader: reader))
    }

    @Test func loadCallUnload() async throws {
        let w = try world(mode: "run")
        try await w.supervisor.start()
        let loaded = try await w.supervisor.load(plugin: "good", device: nil)
        #expect(loaded.map(\.name) == ["good@\(Self.eduFree)", "good@\(Self.eduOnUio)"])
        #expect(loaded.allSatisfy { $0.state == .running && $0.pid != nil })
        #expect(loaded.map(\.dmaMode) == [.confined, .unsafe])
        #expect(loaded.map(\.reset) == [true, false])
        let sysfs = w.pci.sysfs
        #expect(sysfs.read(sysfs.devicePath(Self.eduOnUio) + "/driver_override") == "drvproxy")
        #expect(sysfs.read(sysfs.driverPath("uio_pci_generic") + "/unbind") == Self.eduOnUio)
        // Not matched, so never touched.
        #expect(sysfs.read(sysfs.devicePath("0000:00:03.0") + "/driver_override") == "(null)")

        let answer = try await w.supervisor.call("good@\(Self.eduFree)", command: "add", arguments: ["1 2", "3"])
        // The fake answers with the command line it got, unescaped by hostd.
        #expect(answer == "add 1 2 3")
        await #expect(throws: ControlError.self) {
            try await w.supervisor.call("good@0000:00:07.0", command: "add", arguments: [])
        }

        let removed = try await w.supervisor.unload("good")
        #expect(removed == ["good@\(Self.eduFree)", "good@\(Self.eduOnUio)"])
        #expect(await w.supervisor.instances().isEmpty)
        #expect(sysfs.read(sysfs.driverPath("uio_pci_generic") + "/bind") == Self.eduOnUio)
        #expect(sysfs.read(sysfs.devicePath(Self.eduOnUio) + "/driver_override") == "")
        // Each orderly stop was a release too.
        #expect(w.releases(Self.eduFree) == "1")
        await w.supervisor.shutdown()
    }

    @Test func aCrashLoopEndsInFailedWithTheReason() async throws {
        let w = try world(mode: "crash")
        try await w.supervisor.start()
        let changes = await w.supervisor.observe()
        _ = try await w.supervisor.load(plugin: "good.so", device: Self.eduFree)
        let seen = await HostdTests.changes(changes, until: .failed)
        let states = seen.map(\.state), last = seen.last
        // First restart at once, then backoff; the third crash gives up.
        #expect(states == [.starting, .restarting, .starting, .restarting, .starting, .failed])
        #expect(last?.failure == "crashed 3 times within 60000 ms; last: signal 11 (SIGSEGV)")
        #expect(last?.lastExit == "signal 11 (SIGSEGV)")
        #expect(last?.restarts == 2)
        #expect(w.releases(Self.eduFree) == "3")
        let status = try await w.supervisor.status("good@\(Self.eduFree)")
        #expect(status.state == .failed && status.pid == nil)
        // restart clears the history and tries again (and this fake crashes
        // again at once, so the count may already have moved on).
        let again = try await w.supervisor.restart("good@\(Self.eduFree)")
        #expect(again.restarts >= 3 && again.failure == nil)
        await w.supervisor.shutdown()
    }

    @Test func aDeviceErrorIsRestartedAndCountedLikeACrash() async throws {
        let w = try world(mode: "exit 42")  // ExitCode.deviceError
        try await w.supervisor.start()
        let changes = await w.supervisor.observe()
        _ = try await w.supervisor.load(plugin: "good.so", device: Self.eduFree)
        let seen = await HostdTests.changes(changes, until: .failed)
        let states = seen.map(\.state), last = seen.last
        #expect(states == [.starting, .restarting, .starting, .restarting, .starting, .failed])
        #expect(last?.lastExit == "exit 42 (device error)")
        // A device error is not a crash: the failure says "ended".
        #expect(last?.failure == "ended 3 times within 60000 ms; last: exit 42 (device error)")
        await w.supervisor.shutdown()
    }

    @Test func aDeviceWhoseDMACannotBeConfinedFailsAtOnceAndSaysWhy() async throws {
        let w = try world(mode: "exit 23")  // ExitCode.dmaNotConfined: open() gave EPERM
        try await w.supervisor.start()
        let changes = await w.supervisor.observe()
        _ = try await w.supervisor.load(plugin: "good.so", device: Self.eduFree)
        let seen = await HostdTests.changes(changes, until: .failed)
        let states = seen.map(\.state), last = seen.last
        #expect(states == [.starting, .failed])  // no restart can help
        #expect(last?.failure == "exit 23 (DMA cannot be confined: no IOMMU, and drvproxy's module parameter "
                + "allow_unsafe_dma is off); restarting cannot help")
        await w.supervisor.shutdown()
    }

    /// Crashes `instance` through the fake's "crash" command; returns the
    /// states published until it runs again.
    func crash(_ w: World, _ instance: String) async throws -> [InstanceStatus] {
        let changes = await w.supervisor.observe()
        await #expect(throws: ControlError.self) { try await w.supervisor.call(instance, command: "crash", arguments: []) }
        return try await within(10, waitingFor: "restart of \(instance)") {
            await HostdTests.changes(changes, until: .running, of: instance)
        }
    }

    @Test func aStandbyThatDiesIsReplacedAfterTheNextAttach() async throws {
        let w = try world(mode: "run")
        try await w.supervisor.start()
        let name = "good@\(Self.eduFree)"
        let first = try #require(try await w.supervisor.load(plugin: "good", device: Self.eduFree).first)
        let standby = try #require(first.standbyPid)
        let changes = await w.supervisor.observe()
        kill(standby, SIGKILL)
        let gone: InstanceStatus? = try await within(10, waitingFor: "the standby's exit") {
            for await change in changes where change.standbyPid == nil { return change }
            return nil
        }
        // Still running on its driverhost; no new standby spawned in a loop.
        #expect(gone?.state == .running && gone?.pid == first.pid)

        // The next restart cannot be warm: a new process, then a new standby.
        let restarted = try await crash(w, name)
        #expect(restarted.map(\.state) == [.restarting, .starting, .running])
        let starting = try #require(restarted.first { $0.state == .starting })
        #expect(starting.pid != standby && starting.pid != first.pid)
        #expect(restarted.last?.standbyPid != nil)
        #expect(w.releases(Self.eduFree) == "1")
        await w.supervisor.shutdown()
    }

    @Test func whatADriverhostLeavesBehindDiesWithItButNotTheStandby() async throws {
        let w = try world(mode: "run", orphans: true)
        try await w.supervisor.start()  // reading the descriptor left a sleep too
        let name = "good@\(Self.eduFree)"
        let first = try #require(try await w.supervisor.load(plugin: "good", device: Self.eduFree).first)
        let standby = try #require(first.standbyPid)
        let restarted = try await crash(w, name)
        // The standby, in its own process group, survived and took over.
        #expect(restarted.map(\.state) == [.restarting, .starting, .running])
        #expect(restarted.last?.pid == standby)
        let children = try w.children()
        let describe = try #require(children.first)
        let crashed = try #require(children.first { $0.parent == first.pid })
        let current = try #require(children.first { $0.parent == standby })
        #expect(describe.parent != first.pid && describe.parent != standby)
        #expect(await gone(describe.child, within: 10), "the --describe child's sleep \(describe.child) is still there")
        #expect(await gone(crashed.child, within: 10), "the crashed driverhost's sleep \(crashed.child) is still there")
        #expect(!isGone(current.child))
        await w.supervisor.shutdown()
        #expect(await gone(current.child, within: 10), "the stopped driverhost's sleep \(current.child) is still there")
    }

    @Test func withoutWarmStandbyEveryRestartIsANewProcess() async throws {
        let w = try world(mode: "run", warmStandby: false)
        try await w.supervisor.start()
        let name = "good@\(Self.eduFree)"
        let first = try #require(try await w.supervisor.load(plugin: "good", device: Self.eduFree).first)
        #expect(first.standbyPid == nil)
        let restarted = try await crash(w, name)
        #expect(restarted.map(\.state) == [.restarting, .starting, .running])
        #expect(restarted.allSatisfy { $0.standbyPid == nil && $0.pid != first.pid })
        await w.supervisor.shutdown()
    }

    @Test func aDeviceTheConfigurationDoesNotClaimIsRefused() async throws {
        let w = try world(mode: "run")
        try await w.supervisor.start()
        await #expect(throws: ControlError(.conflict, "plugin good does not drive 0000:00:03.0 (8086:100e)")) {
            try await w.supervisor.load(plugin: "good", device: "00:03.0")
        }
        await #expect(throws: ControlError(.notFound, "no plugin nosuch in \(w.plugins)")) {
            try await w.supervisor.load(plugin: "nosuch", device: nil)
        }
        await w.supervisor.shutdown()
    }
}
