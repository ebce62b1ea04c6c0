import CHostd
import Glibc
import DrvHostSystem

/// What one driverhost sends, as the one watcher reads it: lines on its
/// control channel and its stderr, then its exit (pidfd). Everything here
/// runs on the watcher's thread. Whatever a child sends is bounded
/// (InputBudget): a flood or an endless line costs it its life, not hostd
/// its memory and CPU.
final class DriverhostInput {
    private let process: ChildProcess
    /// hostd's own copy of the channel, closed here at its end.
    private var control: Int32
    private var stderr: Int32
    private let socketPath: String?
    private let continuation: AsyncStream<DriverhostConnection.Event>.Continuation
    private let exitNotice: ExitNotice
    private var pending: [Int32: [UInt8]] = [:]
    private var budget = InputBudget()
    private var killed = false
    private var tokens: [Int32: UInt64] = [:]
    private weak var watcher: ChildWatcher?
    /// Every read lands here: one allocation per driverhost, not one per
    /// read event (reads only happen on the watcher's thread, one at a time).
    private var buffer = [UInt8](repeating: 0, count: 4096)

    init(process: ChildProcess, control: Int32, stderr: Int32, socketPath: String?,
         continuation: AsyncStream<DriverhostConnection.Event>.Continuation, exitNotice: ExitNotice) {
        self.process = process
        self.control = control
        self.stderr = stderr
        self.socketPath = socketPath
        self.continuation = continuation
        self.exitNotice = exitNotice
        // Drained after the exit without waiting: a grandchild that holds
        // the pipe open cannot hold up the exit event. (The channel is read
        // with MSG_DONTWAIT instead: O_NONBLOCK on it would be the sending
        // side's too, which shares the open socket.)
        _ = chd_set_nonblocking(stderr)
    }

    /// Registers on the watcher's thread (no event before the tokens are kept).
    func start(on watcher: ChildWatcher) {
        self.watcher = watcher
        watcher.at(.now) { [self] in
            // Sockets, pipes and pidfds: epoll always takes them.
            for fd in [control, stderr] {
                tokens[fd] = watcher.watch(fd, events: chd_epoll_in()) { [self] _ in readable(fd) }
            }
            tokens[process.pidfd] = watcher.watch(process.pidfd, events: chd_epoll_in()) { [self] _ in exited() }
        }
    }

    private func readable(_ fd: Int32) {
        do {
            let count = try systemCall("read") { readNow(fd) }
            if count > 0 { take(buffer[..<count], from: fd) } else { end(fd) }
        } catch where error.code == EAGAIN {
            return  // level-triggered: the watcher calls again when there is more
        } catch {
            end(fd)
        }
    }

    private func take(_ bytes: ArraySlice<UInt8>, from fd: Int32) {
        guard !killed else { return }
        pending[fd, default: []] += bytes
        while let newline = pending[fd]!.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[fd]![..<newline], as: UTF8.self)
            pending[fd]!.removeSubrange(...newline)
            if fd == stderr {
                continuation.yield(.log(line))
            } else if let code = DriverhostConnection.exitCode(line) {
                process.announce(exitCode: code)
            } else if let event = DriverhostConnection.parse(line) {
                continuation.yield(event)
            }
        }
        if let why = budget.take(bytes: bytes.count, pending: pending[fd]!.count,
                                 from: fd == stderr ? "stderr" : "control channel") {
            killed = true
            pending.removeAll()
            process.signal(SIGKILL)
            continuation.yield(.misbehaved(why))
        }
    }

    /// What is there to read, without waiting.
    private func readNow(_ fd: Int32) -> Int {
        buffer.withUnsafeMutableBytes { bytes in
            fd == control ? recv(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT)) : read(fd, bytes.baseAddress, bytes.count)
        }
    }

    /// End of file (or an error) on one of its streams.
    private func end(_ fd: Int32) {
        guard let token = tokens.removeValue(forKey: fd) else { return }
        watcher?.unwatch(token)
        close(fd)
        if fd == control {
            control = -1
            continuation.yield(.channelEnded)
        } else {
            stderr = -1
        }
    }

    /// The process has exited: what it wrote before is read to its end
    /// (without waiting for writers it left behind), then it is reaped.
    private func exited() {
        if let token = tokens.removeValue(forKey: process.pidfd) { watcher?.unwatch(token) }
        for fd in [control, stderr] where fd >= 0 {
            while !killed {
                let count = readNow(fd)
                guard count > 0 else { break }
                take(buffer[..<count], from: fd)
            }
            end(fd)
        }
        if let socketPath { unlink(socketPath) }
        let status = process.reap()
        continuation.yield(.exited(status))
        continuation.finish()
        exitNotice.post(status)
    }
}
