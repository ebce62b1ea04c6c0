import CDrvHost
@testable import DriverHostCore
import Glibc
import Testing
import DrvHostSystem

/// driverhost's half of hostctl trace, with a supervisor end that never
/// reads: the loop never blocks on it, the trace never sends faster than
/// its rate bound, and what could not be sent is dropped and counted; and
/// nested waits that the trace's timer wakes.
@Suite struct TraceLoopTests {
    /// The good plugin attached on a simulated device, its control channel
    /// one end of a socket pair; the other end (the supervisor's) is returned.
    private func attachedWithSupervisor() throws -> (Instance, supervisor: Int32) {
        var pair: [Int32] = [-1, -1]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0)
        let instance = try Instance(descriptor: try loadDescriptor("good"), device: try SimulatedDevice(),
                                    identity: InstanceIdentity(bdf: "0000:00:05.0")!,
                                    log: Log(prefix: "test", threshold: .error), state: StateStore(path: nil),
                                    control: ControlChannel(Descriptor(taking: pair[1])))
        try instance.setUpDevice()
        try instance.attach()
        return (instance, pair[0])
    }

    @Test func aSupervisorThatDoesNotReadStallsNothingAndGetsADropCount() throws {
        let (instance, supervisor) = try attachedWithSupervisor()
        defer { close(supervisor) }
        defer { instance.detach() }
        instance.setTracing(true)
        #expect(instance.trace.isOn)
        let events: UInt64 = 200_000
        let start = cdh_monotonic_ns()
        #expect(try instance.call("arm", arguments: ["\(events)"]).text == "\(events)")
        // Returns: nothing in the loop waits for the supervisor.
        _ = try instance.runLoop(stopAfterEvents: events)
        let seconds = Double(cdh_monotonic_ns() - start) / 1e9
        #expect(try instance.call("count", arguments: []).text == "\(events)")
        #expect(instance.trace.dropped > 0)
        // What reached the supervisor's end: trace lines only, and no more
        // than the rate bound allows (its first tenth of a second's worth
        // at once, then bytesPerSecond).
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(supervisor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n > 0 else { break }
            bytes += chunk[..<n]
        }
        let bound = Double(Trace.bytesPerSecond) * (seconds + 0.1) + Double(Trace.maxLineBytes)
        #expect(bytes.count > 0 && Double(bytes.count) <= bound, "\(bytes.count) bytes in \(seconds) s")
        let lines = bytes.split(separator: UInt8(ascii: "\n"))
        #expect(lines.allSatisfy { $0.starts(with: Array("trace ".utf8)) })
        instance.setTracing(false)
        #expect(!instance.trace.isOn)
    }

    /// A wake-up that calls the plugin back for nothing (here a heartbeat
    /// that arrived before the wait, and the trace's flush timer) must not
    /// end wait_events early: the plugin hears DH_ERR_TIMEOUT only when its
    /// time is up (it once heard it at the first such wake-up, and edu's
    /// factorial under trace failed with "no factorial interrupt").
    @Test func wakeUpsWithoutCallbacksDoNotEndWaitEventsEarly() throws {
        let (instance, supervisor) = try attachedWithSupervisor()
        defer { close(supervisor) }
        defer { instance.detach() }
        instance.setTracing(true)
        defer { instance.setTracing(false) }
        let ping = Array("ping 7\n".utf8)
        #expect(ping.withUnsafeBytes { write(supervisor, $0.baseAddress, $0.count) } == ping.count)
        let waitMs: UInt64 = 300
        let start = cdh_monotonic_ns()
        #expect(try instance.call("idle_wait", arguments: ["\(waitMs)"]).text == "\(DH_ERR_TIMEOUT)")
        let waitedMs = (cdh_monotonic_ns() - start) / 1_000_000
        #expect(waitedMs >= waitMs, "wait_events(\(waitMs) ms) answered after \(waitedMs) ms")
        // The heartbeat was answered during the wait all the same.
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(supervisor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        #expect(n > 0 && String(decoding: chunk[..<max(n, 0)], as: UTF8.self).contains("pong 7\n"))
    }
}
