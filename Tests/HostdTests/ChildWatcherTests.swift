import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport

/// hostd's one watcher: children's exits, bounded waits and attribute
/// notifications as events of one thread, not a thread per child or wait.
@Suite struct ChildWatcherTests {
    /// Counted in a hostd process of its own: tests running alongside in
    /// this process start threads of their own at any moment.
    @Test func manyDriverhostsCostHostdNoThreadEach() async throws {
        func hostdThreads(runningDevices count: Int) async throws -> Int {
            let devsim = try DevSimProcess((0..<count).map { "edu\($0)=edu" })
            let paths = try HostdProcess.Paths.make(plugins: ["good.so": RepoPaths.testPlugin("good")])
            defer { try? FileManager.default.removeItem(atPath: paths.root) }
            let hostd = try HostdProcess(paths, devsim: devsim)
            _ = try await hostd.running(count, within: 60)
            let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(hostd.pid)/task").count) ?? -1
            #expect(hostd.terminate() == 0)
            return threads
        }
        let withOne = try await hostdThreads(runningDevices: 1)
        let withSeventeen = try await hostdThreads(runningDevices: 17)
        // A thread per child (the old watcher) would add 16 here.
        #expect(withOne > 0 && withSeventeen - withOne < 8,
                "hostd has \(withOne) threads with 1 driverhost, \(withSeventeen) with 17")
    }

    @Test func anExitWaitIsBoundedAndThenSeesTheExit() async throws {
        let watcher = ChildWatcher(name: "test-watcher")
        let child = try ChildProcess(path: "/bin/sleep", arguments: ["600"])
        let start = ContinuousClock.now
        #expect(await watcher.exit(of: child, within: .milliseconds(100)) == nil)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(100) && waited < .seconds(5), "\(waited)")
        child.signal(SIGKILL)
        #expect(await watcher.exit(of: child, within: .seconds(10)) == .signaled(SIGKILL))
    }

    /// A condition with no file to watch is re-checked on the watcher's
    /// timers; one that never holds ends at its bound.
    @Test func untilSeesAConditionOrItsBound() async throws {
        let watcher = ChildWatcher(name: "test-watcher")
        let flag = NSLock()
        nonisolated(unsafe) var set = false
        // Set from a thread of its own, not a Task: tests running alongside
        // may keep the concurrency pool busy for seconds.
        let setter = Foundation.Thread {
            usleep(50_000)
            flag.withLock { set = true }
        }
        setter.start()
        // The bound only has to outlast a loaded test host; the condition,
        // re-checked every 2 ms, is what ends the wait.
        #expect(await watcher.until(within: 60_000, notifiedBy: nil) { flag.withLock { set } })
        let start = ContinuousClock.now
        #expect(await watcher.until(within: 100, notifiedBy: nil) { false } == false)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
    }

    /// A file epoll cannot watch (procfs) falls back to re-checking: a
    /// condition already true answers at once, one never true ends at the bound.
    @Test func aWatchedFileThatNeverNotifiesEndsAtTheBound() async throws {
        let watcher = ChildWatcher(name: "test-watcher")
        let start = ContinuousClock.now
        #expect(await watcher.until(within: 60_000, notifiedBy: "/proc/self/stat") { true })
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(await watcher.until(within: 100, notifiedBy: "/proc/self/stat") { false } == false)
    }
}
