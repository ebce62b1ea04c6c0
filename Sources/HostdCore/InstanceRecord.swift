import Glibc
import DrvHostControl
import DrvHostProtocol

/// Everything the supervisor keeps about one (device, plugin) instance.
/// Only the Supervisor actor touches it.
final class InstanceRecord {
    let name: String
    let pluginFile: String
    let pluginName: String
    let device: String
    /// Its life: state, restarts, last exit, failure, deadlines
    /// (InstanceMachine); the supervisor feeds it events and applies
    /// its effects (Supervisor.drive).
    var machine: InstanceMachine
    /// The watcher's timer for the machine's next deadline, and when.
    var timer: (token: UInt64, at: Int64)?
    var connection: DriverhostConnection?
    /// A driverhost started with --standby: plugin loaded, device not
    /// opened; the next launch sends it "start" instead of spawning.
    var standby: DriverhostConnection?
    /// Bumped for every driverhost started, so that a delayed restart or a
    /// stop's SIGKILL meant for an earlier one does nothing. (Events are
    /// matched to their connection instead: see Supervisor.handle.)
    var generation = 0
    /// The class device the plugin serves (ublk disk, TAP interface): it
    /// outlives each driverhost, is handed to the next one, and is ended
    /// when the instance is unloaded or fails for good.
    var classDevice: ClassDevice?
    /// Its queues, kept open across driverhosts (KeptClassQueues).
    let keptQueues = KeptClassQueues()
    /// Its class server's counters as the current driverhost last reported
    /// them (every half second while they change); nil until it does.
    var classCounters: [ClassCounter]?
    /// The kernel's OOM kills in the instance's cgroup when it started.
    var oomKillsAtStart: UInt64 = 0
    /// Its current driverhost's memory limit, as kernel events.
    var memoryWatch: MemoryLimitWatch?
    /// The plugin file the current driverhost mapped.
    var pluginAtStart: PluginFileIdentity?
    /// The plugin file the standby loaded.
    var standbyPlugin: PluginFileIdentity?
    /// Its driverhosts' log lines, across restarts (hostctl logs).
    var log = LogRing()
    var logFollowers: [Int: AsyncStream<String>.Continuation] = [:]
    /// hostctl trace followers and callback durations (Supervisor+Trace).
    var trace = InstanceTrace()
    /// drvproxy's releases counter when the current driverhost started.
    var releasesAtStart: UInt64?
    var pendingCalls: [String: CheckedContinuation<String, any Error>] = [:]
    var nextCallID = 0
    /// Woken when the current driverhost has exited.
    var exitWaiters: [CheckedContinuation<Void, Never>] = []
    /// Woken when the driverhost reports attached, or when it exits first.
    var attachWaiters: [CheckedContinuation<Void, Never>] = []

    init(name: String, pluginFile: String, pluginName: String, device: String, machine: InstanceMachine) {
        self.name = name
        self.pluginFile = pluginFile
        self.pluginName = pluginName
        self.device = device
        self.machine = machine
    }

    var restarts: UInt32 { machine.restarts }
    var lastExit: String? { machine.lastExit }
    var failure: String? { machine.failure }

    /// The machine's state as hostctl shows it.
    var state: InstanceStatus.State {
        switch machine.state {
        case .idle, .starting, .adopted: .starting
        case .running: .running
        case .releasing, .backoff: .restarting
        case .failed: .failed
        case .unloading, .unloaded: .stopping
        }
    }

    static func name(plugin: String, device: String) -> String { "\(plugin)@\(device)" }
}

/// The newest lines of an instance's log: at most `capacity` lines, each cut
/// at `maxLine` bytes, so that a chatty plugin costs hostd a fixed amount.
struct LogRing {
    static let capacity = 1000
    static let maxLine = 2048
    private(set) var lines: [String] = []
    private var start = 0

    mutating func append(_ line: String) {
        let kept = line.utf8.count > LogRing.maxLine ? String(decoding: line.utf8.prefix(LogRing.maxLine), as: UTF8.self) + "…" : line
        if lines.count < LogRing.capacity {
            lines.append(kept)
        } else {
            lines[start] = kept
            start = (start + 1) % LogRing.capacity
        }
    }

    /// The last `count` lines, oldest first.
    func last(_ count: Int) -> [String] {
        let ordered = Array(lines[start...] + lines[..<start])
        return Array(ordered.suffix(max(0, count)))
    }
}

/// Which file a path names and its contents' version, to tell an in-place
/// overwrite (same inode, new mtime or size) or a replacement (new inode).
struct PluginFileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: timespec

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
    }

    /// The same facts as one string, for the driverhost's record.
    var text: String { "\(device):\(inode):\(size):\(modified.tv_sec).\(modified.tv_nsec)" }

    static func == (a: Self, b: Self) -> Bool {
        a.device == b.device && a.inode == b.inode && a.size == b.size
            && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
    }
}
