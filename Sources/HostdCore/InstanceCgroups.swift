import DrvHostControl
import Glibc
import DrvHostSystem

/// What each instance's driverhosts may take (hostd.toml [instance]).
public struct InstanceResources: Equatable, Sendable {
    /// Memory the instance may use; hostd ends it beyond this (memory.high).
    public var memoryMaxMB = 512
    /// Processes and threads (cgroup pids.max).
    public var pidsMax = 64
    /// CPU share against other instances and the rest of the machine
    /// (cgroup cpu.weight, 1..10000; 100 is everyone's default).
    public var cpuWeight = 100
    /// Open files (RLIMIT_NOFILE).
    public var openFiles = 1024

    public init() {}

    var memoryBytes: UInt64 { UInt64(memoryMaxMB) << 20 }
}

/// cgroup v2 under hostd's own cgroup: one child cgroup per instance, made
/// when its first driverhost starts and removed at unload. The kernel
/// throttles an instance at memory.high (its memory limit) and would kill
/// it only at memory.max, twice that; hostd ends it first, with the reason,
/// when it sees the instance above memory.high, so the kernel's OOM killer
/// (and its reports) never has to act. Without a usable cgroup v2 (no
/// delegation, v1 only), rlimits stand in: RLIMIT_DATA for memory.
final class InstanceCgroups {
    let base: String
    /// Limits for the next driverhost of each instance (a reload changes them).
    var resources: InstanceResources

    /// Sets hostd's cgroup up for instance cgroups, or says why it cannot.
    static func setUp(mount: String, selfCgroupFile: String = "/proc/self/cgroup",
                      resources: InstanceResources) -> Result<InstanceCgroups, CgroupError> {
        guard let membership = InstanceCgroups.readText(selfCgroupFile),
              let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else {
            return .failure(CgroupError("no cgroup v2 membership in \(selfCgroupFile)"))
        }
        let path = String(line.dropFirst(3))
        let base = mount + (path == "/" ? "" : path)
        guard let controllers = InstanceCgroups.readText(base + "/cgroup.controllers") else {
            return .failure(CgroupError("no cgroup v2 hierarchy at \(base)"))
        }
        let wanted = ["memory", "pids", "cpu"]
        let available = Set(controllers.split(whereSeparator: \.isWhitespace).map(String.init))
        let missing = wanted.filter { !available.contains($0) }
        guard missing.isEmpty else {
            return .failure(CgroupError("controllers \(missing.joined(separator: ", ")) not delegated to \(base)"))
        }
        // A non-root cgroup with controllers for its children may hold no
        // process itself: hostd moves into a leaf of its own first.
        if path != "/" {
            let leaf = base + "/hostd"
            guard mkdir(leaf, 0o755) == 0 || errno == EEXIST, InstanceCgroups.writeText(leaf + "/cgroup.procs", "0") else {
                return .failure(CgroupError("cannot move hostd into \(leaf): \(SystemCallError.last("mkdir or write cgroup.procs"))"))
            }
        }
        guard InstanceCgroups.writeText(base + "/cgroup.subtree_control", wanted.map { "+" + $0 }.joined(separator: " ")) else {
            return .failure(CgroupError("cannot enable \(wanted.joined(separator: ", ")) for \(base)'s children: \(SystemCallError.last("write cgroup.subtree_control"))"))
        }
        return .success(InstanceCgroups(base: base, resources: resources))
    }

    private init(base: String, resources: InstanceResources) {
        self.base = base
        self.resources = resources
    }

    struct CgroupError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The instance's cgroup directory ("instance-" and the name, with
    /// anything but letters, digits, '-' and '_' as '_').
    func directory(of instance: String) -> String {
        let safe = String(instance.unicodeScalars.map { scalar in
            (scalar.properties.isAlphabetic && scalar.isASCII) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_"
                ? Character(scalar) : "_"
        })
        return base + "/instance-" + safe
    }

    /// The limits each instance's cgroup was given (by directory), so that
    /// a restart, which reuses the cgroup, does not write them again.
    private var limitsSet: [String: InstanceResources] = [:]

    /// Makes (or keeps) the instance's cgroup with its limits, and opens its
    /// cgroup.procs for the next child to move into. The caller closes it.
    func prepare(_ instance: String) throws(CgroupError) -> Int32 {
        let dir = directory(of: instance)
        if limitsSet[dir] == resources {
            let fd = open("\(dir)/cgroup.procs", O_WRONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            limitsSet[dir] = nil  // gone meanwhile: made again below
        }
        guard mkdir(dir, 0o755) == 0 || errno == EEXIST else {
            throw CgroupError("cannot make \(dir): \(SystemCallError.last("mkdir"))")
        }
        let settings = [("memory.high", "\(resources.memoryBytes)"), ("memory.max", "\(resources.memoryBytes * 2)"),
                        ("pids.max", "\(resources.pidsMax)"), ("cpu.weight", "\(resources.cpuWeight)")]
        for (file, value) in settings where !InstanceCgroups.writeText("\(dir)/\(file)", value) {
            throw CgroupError("cannot set \(dir)/\(file) to \(value): \(SystemCallError.last("write"))")
        }
        // Swap would only slow the end of a runaway; absent without swap support.
        _ = InstanceCgroups.writeText("\(dir)/memory.swap.max", "0")
        let fd = open("\(dir)/cgroup.procs", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CgroupError("cannot open \(dir)/cgroup.procs: \(SystemCallError.last("open"))") }
        limitsSet[dir] = resources
        return fd
    }

    /// The instance's memory use now (memory.current).
    func memoryCurrent(_ instance: String) -> UInt64? {
        InstanceCgroups.memoryCurrent(in: directory(of: instance) + "/memory.current")
    }

    /// A memory.current file's value; static, for hostd's cgroup worker.
    static func memoryCurrent(in file: String) -> UInt64? {
        readText(file).flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { UInt64($0) } }
    }

    /// How often the kernel's OOM killer acted in the instance (memory.events).
    func oomKills(_ instance: String) -> UInt64 {
        guard let events = InstanceCgroups.readText(directory(of: instance) + "/memory.events") else { return 0 }
        for line in events.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return UInt64(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    /// The processes a cgroup.procs file (directory(of:) + "/cgroup.procs")
    /// lists now; static, for hostd's cgroup worker.
    static func processes(listedIn file: String) -> [Int32] {
        (readText(file) ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// True when no process is left in the cgroup `directory` (directory(of:))
    /// or there is none: cgroup.events says "populated 0". The kernel
    /// notifies each change of that file (POLLPRI), so hostd's watcher waits
    /// on it (ChildWatcher.until).
    static func isEmpty(_ directory: String) -> Bool {
        guard let events = readSmallFile(directory + "/cgroup.events") else { return true }
        return events.split(separator: "\n").contains("populated 0")
    }

    /// After the last driverhost of the instance: the empty cgroup goes.
    func remove(_ instance: String) {
        let dir = directory(of: instance)
        limitsSet[dir] = nil
        rmdir(dir)
    }

    static func readText(_ path: String) -> String? { readSmallFile(path) }

    static func writeText(_ path: String, _ text: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}
