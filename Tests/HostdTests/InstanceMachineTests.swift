import Glibc
@testable import HostdCore
import Testing

/// The instance's state machine on a fake clock: every transition, and each
/// case of issue 12 that needs no device (the VM suites have the others).
@Suite struct InstanceMachineTests {
    /// A machine and the time the test says it is.
    struct Bench {
        var machine: InstanceMachine
        var now: Int64 = 1_000

        init(maxCrashes: Int = 5, restarts: UInt32 = 0) {
            machine = InstanceMachine(device: "0000:00:05.0",
                                      bounds: .init(attachMs: 3_000, livenessMs: 1_000, releaseWaitMs: 2_000, stopMs: 5_000),
                                      limits: .init(maxCrashes: maxCrashes, windowMs: 30_000, initialBackoffMs: 50, maxBackoffMs: 5_000),
                                      restarts: restarts)
        }

        @discardableResult
        mutating func on(_ event: InstanceMachine.Event, after ms: Int64 = 0) -> [InstanceMachine.Effect] {
            now += ms
            return machine.handle(event, at: now)
        }

        /// Delivers `.tick` at the machine's next deadline, as the watcher's timer does.
        @discardableResult
        mutating func tickAtDeadline() -> [InstanceMachine.Effect] {
            guard let deadline = machine.nextDeadline else { return [] }
            now = max(now, deadline)
            return machine.handle(.tick, at: now)
        }

        mutating func running() {
            on(.startRequested)
            on(.attached, after: 20)
        }

        mutating func crash(_ signal: Int32 = SIGSEGV) -> [InstanceMachine.Effect] {
            on(.exited(.signaled(signal), .init()), after: 10)
        }
    }

    @Test func aStartSpawnsAndAttachRuns() {
        var b = Bench()
        #expect(b.on(.startRequested) == [.spawn(restartCount: 0), .publish])
        #expect(b.machine.state == .starting(since: 1_000))
        #expect(b.machine.nextDeadline == 4_000)
        #expect(b.on(.attached, after: 20) == [.publish])
        #expect(b.machine.state == .running)
    }

    @Test func aCrashWaitsForTheReleaseThenRestartsWithBackoff() {
        var b = Bench()
        b.running()
        let first = b.crash()
        #expect(first == [.cleanUpDriverhost, .awaitRelease, .publish])
        #expect(b.machine.lastExit == "signal 11 (SIGSEGV)")
        // Nothing starts before the kernel's release, whatever the time.
        #expect(b.on(.tick, after: 500).isEmpty)
        #expect(b.on(.released, after: 10) == [.spawn(restartCount: 1), .publish, .saveHistory])
        b.on(.attached, after: 20)
        // The second crash within the window waits out the initial backoff.
        _ = b.crash()
        #expect(b.on(.released, after: 5).isEmpty)
        guard case .backoff(let until, true) = b.machine.state else { Issue.record("\(b.machine.state)"); return }
        #expect(b.on(.tick, after: 10).isEmpty)  // before the deadline
        #expect(b.machine.nextDeadline == until)
        #expect(b.tickAtDeadline() == [.spawn(restartCount: 2), .publish, .saveHistory])
        #expect(b.machine.restarts == 2)
    }

    @Test func whatACrashLeftBehindIsAddedToItsLastExitOnly() {
        var b = Bench()
        b.running()
        _ = b.crash()
        #expect(b.on(.leftoversKilled("hostd killed what it left in its cgroup (pid 42)")) == [.saveHistory, .publish])
        #expect(b.machine.lastExit == "signal 11 (SIGSEGV); hostd killed what it left in its cgroup (pid 42)")
        // An orderly stop's exit is no news for lastExit, nor what it left.
        b.on(.released)
        b.on(.attached)
        b.on(.unloadRequested)
        b.on(.exited(.exited(0), .init()))
        #expect(b.on(.leftoversKilled("hostd killed what it left in its cgroup (pid 43)")).isEmpty)
        #expect(b.machine.lastExit == "signal 11 (SIGSEGV); hostd killed what it left in its cgroup (pid 42)")
    }

    @Test func tooManyCrashesFailAndEndTheClassDevice() {
        var b = Bench(maxCrashes: 2)
        b.running()
        _ = b.crash()
        b.on(.released)
        b.on(.attached)
        #expect(b.crash() == [.cleanUpDriverhost, .saveHistory, .endClassDevice, .publish])
        #expect(b.machine.state == .failed("crashed 2 times within 30000 ms; last: signal 11 (SIGSEGV)"))
        // Late news about the dead driverhost changes nothing.
        #expect(b.on(.released).isEmpty && b.on(.tick, after: 60_000).isEmpty)
    }

    @Test func anOrderlyExitInAttachIsEndedNotCrashed() {
        var b = Bench(maxCrashes: 1)
        b.on(.startRequested)
        b.on(.exited(.exited(0), .init()), after: 30)
        #expect(b.machine.failure == "ended 1 times within 30000 ms; last: exit 0 (orderly exit)")
    }

    @Test func aPermanentExitFailsAtOnceWithTheDriverhostsReason() {
        var b = Bench()
        b.on(.startRequested)
        b.on(.failedLine("ACK program instruction 0: offset outside the BAR"))
        let effects = b.on(.exited(.exited(12), .init()), after: 30)
        #expect(effects.contains(.endClassDevice) && !effects.contains(.awaitRelease))
        #expect(b.machine.failure == "exit 12 (invalid descriptor): ACK program instruction 0: offset outside the BAR; restarting cannot help")
    }

    @Test func aDriverhostThatDoesNotAttachInTimeIsKilledOnce() {
        var b = Bench()
        b.on(.startRequested)
        #expect(b.on(.tick, after: 2_999).isEmpty)
        #expect(b.on(.tick, after: 1) == [.kill("did not attach within 3000 ms (stopped or hung)")])
        // Awaiting the exit: no deadline, so no timer spins.
        #expect(b.machine.nextDeadline == nil)
        #expect(b.on(.tick, after: 100).isEmpty)
        b.on(.exited(.signaled(SIGKILL), .init()), after: 5)
        #expect(b.machine.lastExit == "signal 9 (SIGKILL): killed by hostd: it did not attach within 3000 ms (stopped or hung)")
        #expect(b.machine.state == .releasing(since: b.now, delayMs: 0, counted: true))
    }

    @Test func heartbeatsGoOutEveryFifthAndSilenceKills() {
        var b = Bench()
        b.running()
        #expect(b.tickAtDeadline() == [.ping(1)])
        b.on(.heartbeatAnswered, after: 5)
        #expect(b.tickAtDeadline() == [.ping(2)])
        b.on(.heartbeatAnswered, after: 5)
        // From here on it answers nothing (SIGSTOP): pings, then the kill.
        var effects: [InstanceMachine.Effect] = []
        for _ in 0..<10 where !effects.contains(where: { if case .kill = $0 { true } else { false } }) {
            effects = b.tickAtDeadline()
        }
        #expect(effects == [.kill("answered no heartbeat for 1000 ms (stopped, or stuck outside a plugin callback)")])
        #expect(b.machine.nextDeadline == nil)
    }

    @Test func theKernelMustConfirmTheReleaseInTime() {
        var b = Bench()
        b.running()
        _ = b.crash()
        #expect(b.tickAtDeadline() == [.saveHistory, .endClassDevice, .publish])
        #expect(b.machine.failure == "the kernel did not confirm the release of 0000:00:05.0 within 2000 ms after signal 11 (SIGSEGV)")
    }

    @Test func unloadWhileStartingStopsThenKillsAtTheBound() {
        var b = Bench()
        b.on(.startRequested)
        #expect(b.on(.unloadRequested, after: 10) == [.requestStop, .publish])
        // The attach bound no longer applies: the stop bound does.
        #expect(b.machine.nextDeadline == Int64(1_010 + 5_000))
        #expect(b.on(.attached).isEmpty)
        #expect(b.tickAtDeadline() == [.kill("did not stop within 5000 ms")])
        #expect(b.on(.exited(.signaled(SIGKILL), .init())) == [.cleanUpDriverhost, .endClassDevice, .remove, .publish])
        #expect(b.machine.state == .unloaded)
        #expect(b.machine.restarts == 0)
    }

    @Test func unloadWhileRecoveringEndsAtOnce() {
        var releasing = Bench()
        releasing.running()
        _ = releasing.crash()
        #expect(releasing.on(.unloadRequested) == [.endClassDevice, .remove, .publish])
        #expect(releasing.on(.released).isEmpty && releasing.machine.state == .unloaded)

        var backoff = Bench()
        backoff.running()
        _ = backoff.crash()
        backoff.on(.released)
        backoff.on(.attached)
        _ = backoff.crash()
        backoff.on(.released)
        #expect(backoff.on(.unloadRequested) == [.endClassDevice, .remove, .publish])
        #expect(backoff.tickAtDeadline().isEmpty && backoff.machine.restarts == 1)
    }

    @Test func anUpgradeStopsAndStartsWithoutCounting() {
        var b = Bench(restarts: 3)
        b.running()
        #expect(b.on(.pluginFileChanged) == [.requestStop, .publish])
        #expect(b.on(.exited(.exited(0), .init()), after: 20) == [.cleanUpDriverhost, .awaitRelease, .publish])
        #expect(b.on(.released) == [.spawn(restartCount: 3), .publish, .saveHistory])
    }

    @Test func anUpgradeGivesAFailedInstanceAFreshStartAndLeavesARecoveryAlone() {
        var failed = Bench(maxCrashes: 2)
        failed.running()
        _ = failed.crash()
        failed.on(.released)
        failed.on(.attached)
        _ = failed.crash()
        #expect(failed.machine.state == .failed("crashed 2 times within 30000 ms; last: signal 11 (SIGSEGV)"))
        #expect(failed.on(.pluginFileChanged, after: 100) == [.spawn(restartCount: 1), .publish])
        #expect(failed.machine.failure == nil && failed.machine.restarts == 1)
        // Its restart policy starts afresh: one crash of the new version is
        // one crash, not the one too many.
        failed.on(.attached, after: 20)
        #expect(failed.crash().contains(.awaitRelease))

        // Recovering: the restart that follows takes the new file anyway,
        // and the crash before it still counts.
        var recovering = Bench()
        recovering.running()
        _ = recovering.crash()
        #expect(recovering.on(.pluginFileChanged).isEmpty)
        #expect(recovering.on(.released) == [.spawn(restartCount: 1), .publish, .saveHistory])
        // Idle and unloaded instances have nothing to upgrade.
        var idle = Bench()
        #expect(idle.on(.pluginFileChanged).isEmpty && idle.machine.state == .idle)
    }

    @Test func anInPlaceOverwriteIsAnUpgradeNotACrash() {
        var b = Bench(maxCrashes: 2)
        b.running()
        for _ in 0..<4 {
            #expect(b.on(.exited(.signaled(SIGBUS), .init(pluginReplaced: true)), after: 10).contains(.awaitRelease))
            #expect(b.on(.released) == [.spawn(restartCount: 0), .publish, .saveHistory])
            b.on(.attached)
        }
        #expect(b.machine.lastExit?.hasSuffix("not counted as a crash") == true)
    }

    @Test func aLimitKillAndAnOOMKillSaySo() {
        var b = Bench()
        b.running()
        let why = "used 300 MiB, more than its memory limit (memory_max_mb = 256)"
        #expect(b.on(.limitHit(why)) == [.kill(why)])
        #expect(b.on(.limitHit(why)).isEmpty)  // one kill is enough
        _ = b.crash(SIGKILL)
        #expect(b.machine.lastExit == "signal 9 (SIGKILL): killed by hostd: it \(why)")
        b.on(.released)
        b.on(.attached)
        b.on(.exited(.signaled(SIGKILL), .init(oomKilled: true)))
        #expect(b.machine.lastExit?.contains("killed by the kernel's OOM killer") == true)
    }

    @Test func aLiveDriverhostIsAdoptedAndMustSpeakUp() {
        var b = Bench(restarts: 2)
        #expect(b.on(.adopted) == [.publish])
        #expect(b.on(.attached, after: 30) == [.publish])
        #expect(b.machine.state == .running && b.machine.restarts == 2)

        var silent = Bench()
        silent.on(.adopted)
        #expect(silent.tickAtDeadline() == [.kill("did not answer within 1000 ms of its adoption")])
    }

    @Test func aDeadRecordedDriverhostIsRecoveredAsACrash() {
        var b = Bench(restarts: 2)
        let effects = b.on(.adoptionFailed("its driverhost (pid 42) ended while hostd was not running"))
        #expect(effects.contains(.awaitRelease))
        #expect(b.machine.lastExit == "no exit status (not hostd's child): its driverhost (pid 42) ended while hostd was not running")
        #expect(b.on(.released) == [.spawn(restartCount: 3), .publish, .saveHistory])
    }

    @Test func theOperatorsRestartClearsAFailure() {
        var b = Bench(maxCrashes: 1)
        b.running()
        _ = b.crash()
        #expect(b.machine.failure != nil)
        #expect(b.on(.restartRequested) == [.spawn(restartCount: 1), .publish, .saveHistory])
        #expect(b.machine.failure == nil)
        // And of a running one: stop, the release, a counted start.
        b.on(.attached)
        #expect(b.on(.restartRequested) == [.requestStop, .publish])
        b.on(.exited(.exited(0), .init()))
        #expect(b.on(.released) == [.spawn(restartCount: 2), .publish, .saveHistory])
    }

    @Test func aSpawnFailureFails() {
        var b = Bench()
        b.on(.startRequested)
        #expect(b.on(.spawnFailed("cannot start driverhost: fork: EAGAIN")) == [.saveHistory, .endClassDevice, .publish])
        #expect(b.machine.failure == "cannot start driverhost: fork: EAGAIN")
    }

    @Test func theChannelsEndAloneDecidesNothing() {
        var b = Bench()
        b.running()
        #expect(b.on(.channelEnded).isEmpty)
        #expect(b.machine.state == .running)
    }
}
