import CHostd
import DrvHostControl
import Glibc

/// An instance over its memory limit, as the kernel says it: when it
/// throttles the cgroup at memory.high, the "high" count in memory.events
/// goes up and the kernel notifies the file (POLLPRI), which hostd's one
/// watcher waits for. Nothing runs while the instance stays under its
/// limit (sampling memory.current ten times a second cost hostd's CPU all
/// the time: a tenth of the guest's one vCPU, idle).
///
/// One per driverhost: made at its start (the count then is the baseline,
/// the cgroup outlives each driverhost), ended at its exit.
final class MemoryLimitWatch: @unchecked Sendable {
    private let watcher: ChildWatcher
    /// memory.events, open: kernfs reports POLLPRI on this descriptor
    /// until it is read again after a change.
    private let fd: Int32
    private let memoryCurrent: String
    private let baseline: UInt64
    private let onOverLimit: @Sendable (_ usedBytes: UInt64?) -> Void
    // Touched on the watcher's thread only.
    private var token: UInt64?
    private var done = false

    /// nil when the cgroup has no memory.events (no memory controller).
    init?(cgroup directory: String, watcher: ChildWatcher = .shared,
          onOverLimit: @escaping @Sendable (_ usedBytes: UInt64?) -> Void) {
        fd = open(directory + "/memory.events", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.watcher = watcher
        memoryCurrent = directory + "/memory.current"
        self.onOverLimit = onOverLimit
        // Read on this descriptor: a change after this read is notified.
        baseline = MemoryLimitWatch.highCount(fd) ?? 0
        watcher.at(.now) { [self] in
            guard !done else { return }
            token = watcher.watch(fd, events: chd_epoll_pri()) { [self] _ in check() }
        }
    }

    /// The driverhost has ended: no more notifications (the descriptor is
    /// closed on the watcher's thread, so no handler can be reading it).
    func end() {
        watcher.at(.now) { [self] in
            guard !done else { return }
            done = true
            if let token { watcher.unwatch(token) }
            close(fd)
        }
    }

    private func check() {
        guard !done, let high = MemoryLimitWatch.highCount(fd) else { return }
        guard high > baseline else { return }
        done = true
        if let token { watcher.unwatch(token) }
        close(fd)
        onOverLimit(InstanceCgroups.memoryCurrent(in: memoryCurrent))
    }

    /// The "high" line of memory.events (re-arms the notification).
    static func highCount(_ fd: Int32) -> UInt64? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return highCount(in: String(decoding: buffer[..<count], as: UTF8.self))
    }

    static func highCount(in events: String) -> UInt64? {
        for line in events.split(separator: "\n") where line.hasPrefix("high ") {
            return UInt64(line.dropFirst("high ".count))
        }
        return nil
    }
}
