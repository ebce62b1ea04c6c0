import Foundation
@testable import HostdCore
import Testing

/// The cgroup v2 file protocol, on a tree of plain files laid out as the
/// kernel's (the VM suite runs it on a real cgroup2 mount).
@Suite struct InstanceCgroupsTests {
    func tree(controllers: String = "cpuset cpu io memory pids") throws -> (root: String, selfFile: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroups-\(UUID().uuidString)").path
        let base = root + "/system.slice/hostd.service"
        let instance = base + "/instance-edu_sim_edu0"
        for dir in [base + "/hostd", instance] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try controllers.write(toFile: base + "/cgroup.controllers", atomically: false, encoding: .utf8)
        for file in [base + "/cgroup.subtree_control", base + "/hostd/cgroup.procs"]
            + ["memory.high", "memory.max", "pids.max", "cpu.weight", "cgroup.procs"].map({ instance + "/" + $0 }) {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
        }
        try "oom 1\noom_kill 2\n".write(toFile: instance + "/memory.events", atomically: false, encoding: .utf8)
        try "5242880\n".write(toFile: instance + "/memory.current", atomically: false, encoding: .utf8)
        let selfFile = root + "/self-cgroup"
        try "0::/system.slice/hostd.service\n".write(toFile: selfFile, atomically: false, encoding: .utf8)
        return (root, selfFile)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing>" }

    @Test func hostdMovesIntoALeafAndEachInstanceGetsItsLimits() throws {
        let (root, selfFile) = try tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var resources = InstanceResources()
        resources.memoryMaxMB = 64
        resources.pidsMax = 32
        resources.cpuWeight = 50
        let cgroups = try InstanceCgroups.setUp(mount: root, selfCgroupFile: selfFile, resources: resources).get()
        let base = root + "/system.slice/hostd.service"
        #expect(cgroups.base == base)
        #expect(read(base + "/hostd/cgroup.procs") == "0")
        #expect(read(base + "/cgroup.subtree_control") == "+memory +pids +cpu")

        let fd = try cgroups.prepare("edu@sim:edu0")
        close(fd)
        let dir = base + "/instance-edu_sim_edu0"
        #expect(cgroups.directory(of: "edu@sim:edu0") == dir)
        #expect(read(dir + "/memory.high") == "\(64 << 20)")
        #expect(read(dir + "/memory.max") == "\(128 << 20)")
        #expect(read(dir + "/pids.max") == "32")
        #expect(read(dir + "/cpu.weight") == "50")
        #expect(cgroups.memoryCurrent("edu@sim:edu0") == 5 << 20)
        #expect(cgroups.oomKills("edu@sim:edu0") == 2)
    }

    /// A restart reuses the instance's cgroup: its limits are written when
    /// they are new (first start, a reload that changed them, after the
    /// cgroup was removed), not at every driverhost start.
    @Test func limitsAreWrittenOnlyWhenTheyChange() throws {
        let (root, selfFile) = try tree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cgroups = try InstanceCgroups.setUp(mount: root, selfCgroupFile: selfFile, resources: InstanceResources()).get()
        let dir = cgroups.directory(of: "edu@sim:edu0")
        close(try cgroups.prepare("edu@sim:edu0"))
        #expect(read(dir + "/pids.max") == "\(InstanceResources().pidsMax)")
        // A mark the kernel never writes, seen again only if nothing rewrote
        // it (one byte: writes here do not truncate, as on a cgroup file).
        try "x".write(toFile: dir + "/pids.max", atomically: false, encoding: .utf8)
        close(try cgroups.prepare("edu@sim:edu0"))
        #expect(read(dir + "/pids.max") == "x")
        cgroups.resources.pidsMax = 16
        close(try cgroups.prepare("edu@sim:edu0"))
        #expect(read(dir + "/pids.max") == "16")
        try "x".write(toFile: dir + "/pids.max", atomically: false, encoding: .utf8)
        cgroups.remove("edu@sim:edu0")  // not empty here (plain files): the directory stays
        close(try cgroups.prepare("edu@sim:edu0"))
        #expect(read(dir + "/pids.max") == "16")
    }

    @Test func withoutTheControllersItSaysWhich() throws {
        let (root, selfFile) = try tree(controllers: "cpuset io")
        defer { try? FileManager.default.removeItem(atPath: root) }
        guard case .failure(let why) = InstanceCgroups.setUp(mount: root, selfCgroupFile: selfFile, resources: .init()) else {
            Issue.record("set up without controllers")
            return
        }
        #expect(why.description.hasPrefix("controllers memory, pids, cpu not delegated to"))
    }

    @Test func aV1OnlyMachineIsNoCgroupV2() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroups-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "4:memory:/x\n1:cpu:/\n".write(toFile: root + "/self", atomically: false, encoding: .utf8)
        guard case .failure(let why) = InstanceCgroups.setUp(mount: root, selfCgroupFile: root + "/self", resources: .init()) else {
            Issue.record("set up on v1")
            return
        }
        #expect(why.description.contains("no cgroup v2 membership"))
    }
}
