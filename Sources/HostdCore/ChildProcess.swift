import CHostd
import DrvHostControl
import FoundationEssentials
import NIOConcurrencyHelpers
import Glibc
import DrvHostSystem

/// A child process hostd started, known by its pidfd: no pid reuse races,
/// and exits are learnt by polling the pidfd, never by SIGCHLD or waitpid(-1).
/// A child dies with hostd (PR_SET_PDEATHSIG, see CHostd/spawn.c) unless it
/// is spawned to outlive it (a driverhost: the next hostd adopts it). It
/// leads its own session and process group, and what it leaves behind in
/// that group is killed when it is reaped (see reap()).
public final class ChildProcess: @unchecked Sendable {
    public let pid: Int32
    let pidfd: Int32
    /// Started by an earlier hostd: not our child, so never waited for.
    public let adopted: Bool
    private var reaped: ExitStatus?
    /// The exit code an adopted process announced before it exited.
    private var announcedExit: Int32?
    private let lock = NIOLock()

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Children get the environment hostd has, minus the backtracer
    /// (Swift's backtracer turns a plugin crash into a slow exit), plus `extra`.
    static func childEnvironment(_ extra: [String: String]) -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        environment["NOTIFY_SOCKET"] = nil
        environment.merge(extra) { $1 }
        return environment.map { "\($0.key)=\($0.value)" }
    }

    /// Where a child runs and what it may take, set before it runs any code.
    public struct Confinement: Sendable {
        /// An open cgroup.procs of the cgroup to run in; -1: hostd's own.
        public var cgroupProcsFD: Int32 = -1
        /// RLIMIT_DATA and RLIMIT_NOFILE; 0: inherited.
        public var dataBytes: UInt64 = 0
        public var openFiles: UInt64 = 0

        public init(cgroupProcsFD: Int32 = -1, dataBytes: UInt64 = 0, openFiles: UInt64 = 0) {
            self.cgroupProcsFD = cgroupProcsFD
            self.dataBytes = dataBytes
            self.openFiles = openFiles
        }
    }

    public init(path: String, arguments: [String], environment: [String: String] = [:], controlFD: Int32 = -1,
                listenFD: Int32 = -1, survivesHostd: Bool = false,
                stdoutFD: Int32 = -1, stderrFD: Int32 = -1, confinement: Confinement = Confinement()) throws(SpawnError) {
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = ChildProcess.childEnvironment(environment).map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var fd: Int32 = -1
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                path.withCString { cPath in
                    var request = chd_spawn_request(path: cPath, argv: argvBuffer.baseAddress, envp: envpBuffer.baseAddress,
                                                    control_fd: controlFD, listen_fd: listenFD,
                                                    survive_parent: survivesHostd ? 1 : 0,
                                                    stdout_fd: stdoutFD, stderr_fd: stderrFD,
                                                    cgroup_procs_fd: confinement.cgroupProcsFD,
                                                    rlimit_data: confinement.dataBytes, rlimit_nofile: confinement.openFiles)
                    return chd_spawn(&request, &fd)
                }
            }
        }
        guard result > 0 else {
            throw SpawnError(description: "cannot start \(path): \(SystemCallError(-result, call: "spawn"))")
        }
        pid = result
        pidfd = fd
        adopted = false
    }

    /// Takes over a process an earlier hostd started, by its pid and the
    /// start time recorded then: a pid that now names another process (the
    /// recorded one died and the number was reused) is refused.
    public init(adopting pid: Int32, startTime: UInt64) throws(SpawnError) {
        let fd = chd_pidfd_open(pid)
        guard fd >= 0 else { throw SpawnError(description: "process \(pid) is gone") }
        // Read after the pidfd is open: had the pid been reused before, the
        // start time now is the new process's, and does not match.
        guard let now = ChildProcess.startTime(of: pid), now == startTime else {
            close(fd)
            throw SpawnError(description: "process \(pid) is another process now (start time differs)")
        }
        self.pid = pid
        pidfd = fd
        adopted = true
    }

    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks
    /// since boot. With the pid, it names one process for the machine's uptime.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let stat = readSmallFile("/proc/\(pid)/stat"), let end = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state is field 3, starttime field 22.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// True once the process has exited (a zombie not yet reaped included).
    public var hasExited: Bool {
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    /// What an adopted process said it exits with ("exit <code>").
    func announce(exitCode: Int32) {
        lock.lock()
        announcedExit = exitCode
        lock.unlock()
    }

    deinit {
        close(pidfd)
    }

    public func signal(_ signal: Int32) {
        _ = chd_pidfd_send_signal(pidfd, signal)
    }

    /// Blocks until the process exits (or the deadline passes: nil), while
    /// handing whatever arrives on `watched` descriptors to `onData`. A
    /// watched descriptor is dropped at its end of file. Returns once the
    /// process has exited and every watched descriptor reached its end
    /// (a grandchild holding a pipe open cannot stall it past the exit:
    /// after the exit, the remaining data is drained without waiting).
    public func wait(watching watched: [Int32] = [], deadline: ContinuousClock.Instant? = nil,
                     onData: (Int32, ArraySlice<UInt8>) -> Void = { _, _ in }) -> ExitStatus? {
        var open = watched
        var buffer = [UInt8](repeating: 0, count: 4096)
        var exited = false
        while true {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if !exited { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            if fds.isEmpty { break }
            var timeout: Int32 = exited ? 0 : -1
            if let deadline, !exited {
                let left = deadline - .now
                if left <= .zero { return nil }
                let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
                timeout = Int32(clamping: ms + 1)
            }
            let n = (try? systemCall("poll") { poll(&fds, nfds_t(fds.count), timeout) }) ?? -1
            if n == 0 && exited { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == pidfd {
                    exited = true
                    continue
                }
                do {
                    let count = try systemCall("read") { buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) } }
                    if count > 0 { onData(entry.fd, buffer[..<count]) } else { open.removeAll { $0 == entry.fd } }
                } catch where error.code == EAGAIN {
                    continue
                } catch {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        return reap()
    }

    /// Reaps the exited process once; later calls return the same status.
    /// Before that, SIGKILLs every process still in its process group, as
    /// systemd's KillMode=control-group does: a driverhost's plugin may have
    /// started processes, and none may outlive the driverhost (in the next
    /// one's way, or holding what the kernel should have released). So a
    /// supervisor that has seen the exit event sees the group killed too.
    @discardableResult
    public func reap() -> ExitStatus {
        lock.lock()
        defer { lock.unlock() }
        if let reaped { return reaped }
        if adopted {
            // Its parent (init, or a subreaper) reaps it; what it left in its
            // process group is ended all the same.
            kill(-pid, SIGKILL)
            let status: ExitStatus = announcedExit.map { .exited($0) } ?? .unknown
            reaped = status
            return status
        }
        var exited: Int32 = 0
        var code: Int32 = 0
        let result = chd_pidfd_reap(pidfd, pid, &exited, &code)
        let status: ExitStatus = result != 0 ? .exited(-1) : exited != 0 ? .exited(code) : .signaled(code)
        reaped = status
        return status
    }
}
