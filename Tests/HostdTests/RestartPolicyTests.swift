import HostdCore
import Testing

/// The policy is a pure value: the "clock" is the instants the tests pass.
@Suite struct RestartPolicyTests {
    let limits = RestartPolicy.Limits(maxCrashes: 5, windowMs: 30_000, initialBackoffMs: 50, maxBackoffMs: 5_000)

    @Test func firstCrashRestartsAtOnceThenBackoffDoubles() {
        var policy = RestartPolicy(limits)
        #expect(policy.crashed(atMs: 1_000) == .restart(afterMs: 0))
        #expect(policy.crashed(atMs: 1_100) == .restart(afterMs: 50))
        #expect(policy.crashed(atMs: 1_200) == .restart(afterMs: 100))
        #expect(policy.crashed(atMs: 1_300) == .restart(afterMs: 200))
    }

    @Test func givesUpAtTheLimitWithinTheWindow() {
        var policy = RestartPolicy(limits)
        for t in 0..<4 { _ = policy.crashed(atMs: Int64(t) * 1_000) }
        #expect(policy.crashed(atMs: 4_000) == .giveUp(crashes: 5, withinMs: 30_000))
    }

    @Test func crashesOutsideTheWindowAreForgotten() {
        var policy = RestartPolicy(limits)
        for t in 0..<4 { _ = policy.crashed(atMs: Int64(t) * 1_000) }
        // 30 s after the first four: a quiet window, so restart at once again.
        #expect(policy.crashed(atMs: 33_000) == .restart(afterMs: 0))
        #expect(policy.recentCrashes == [33_000])
    }

    @Test func backoffIsCappedAndShiftCannotOverflow() {
        var policy = RestartPolicy(.init(maxCrashes: 100, windowMs: 1_000_000, initialBackoffMs: 50, maxBackoffMs: 5_000))
        var last = RestartPolicy.Decision.restart(afterMs: 0)
        for t in 0..<60 { last = policy.crashed(atMs: Int64(t)) }
        #expect(last == .restart(afterMs: 5_000))
    }

    @Test func resetStartsAfresh() {
        var policy = RestartPolicy(limits)
        for t in 0..<4 { _ = policy.crashed(atMs: Int64(t)) }
        policy.reset()
        #expect(policy.crashed(atMs: 10) == .restart(afterMs: 0))
    }
}
