import DriverHostCore
import Foundation
@testable import HostdCore
import Testing
import TestSupport
import DrvHostProtocol

/// hostd keeps a TAP interface's queues across a driverhost's crash and
/// hands them to the next one: the same open files, so the kernel never
/// detaches or attaches a queue (real TAP, the loop-back test plugin on the
/// simulated device).
@Suite(.serialized) struct KeptClassQueuesTests {

    /// The interface a tun file is attached to, from the kernel's fdinfo
    /// ("iff:" while attached); nil once detached or for another file.
    func attachedInterface(pid: Int32, fd: Int32) -> String? {
        guard let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8) else { return nil }
        return info.split(separator: "\n").first { $0.hasPrefix("iff:") }
            .map { $0.dropFirst(4).trimmingCharacters(in: .whitespaces) }
    }

    func ifindex(_ name: String) -> String? {
        try? String(contentsOfFile: "/sys/class/net/\(name)/ifindex", encoding: .utf8)
    }

    /// The events up to the first that `stop` accepts (log lines kept); nil
    /// if the driverhost ended first.
    func events(_ iterator: inout AsyncStream<DriverhostConnection.Event>.Iterator, logs: inout [String],
                until stop: (DriverhostConnection.Event) -> Bool) async -> DriverhostConnection.Event? {
        while let event = await iterator.next() {
            if case .log(let line) = event { logs.append(line); continue }
            if stop(event) { return event }
            if case .exited = event { return nil }
        }
        return nil
    }

    @Test(.enabled(if: TestTAPInterface.canMake, "needs /dev/net/tun as root"))
    func aCrashLeavesTheQueuesToTheNextDriverhost() async throws {
        let name = "dhtkp0s0"
        TestTAPInterface.end(name)
        defer { TestTAPInterface.end(name) }
        let common = ["--simulate", "--plugin", RepoPaths.testPlugin("net-loop"), "--net-name", "dhtk{pci}"]
        let kept = KeptClassQueues()
        var logs: [String] = []

        // The first driverhost makes the interface and says which queues it has.
        let first = try DriverhostConnection(driverhost: RepoPaths.binary("driverhost"), arguments: common)
        var firstEvents = first.events.makeAsyncIterator()
        guard case .classQueues("net", let fds)? = await events(&firstEvents, logs: &logs, until: {
            if case .classQueues = $0 { true } else { false }
        }) else {
            Issue.record("no queues: \(logs.suffix(3))")
            return
        }
        #expect(fds.count == 1)
        try kept.take(fds, from: first)
        let index = ifindex(name)
        #expect(index != nil)
        #expect(attachedInterface(pid: getpid(), fd: kept.descriptors[0]) == name)

        // Its crash: the queue stays attached, held by hostd alone.
        let standby = try DriverhostConnection(driverhost: RepoPaths.binary("driverhost"), arguments: common + ["--standby"])
        first.process.signal(SIGKILL)
        _ = await first.waitForExit()
        #expect(attachedInterface(pid: getpid(), fd: kept.descriptors[0]) == name)
        #expect(kept.carrierOff() == nil)

        // The standby takes the same queue with its start.
        #expect(standby.requestStart(restartCount: 1, classDevice: ClassDevice(kind: "net", name: name), queues: kept.descriptors))
        var standbyEvents = standby.events.makeAsyncIterator()
        logs.removeAll()
        guard case .classQueues("net", let again)? = await events(&standbyEvents, logs: &logs, until: {
            if case .classQueues = $0 { true } else { false }
        }) else {
            Issue.record("the standby did not take over: \(logs.suffix(3))")
            return
        }
        #expect(logs.contains { $0.contains("took over the 1 queue(s) of interface \(name)") }, "\(logs)")
        #expect(again.count == 1)
        #expect(attachedInterface(pid: standby.process.pid, fd: again[0]) == name)
        #expect(ifindex(name) == index)
        standby.requestStop()
        #expect(await standby.waitForExit() == .exited(0))
        kept.release()
    }

    /// pidfd_getfd of a descriptor the process does not have (here it has
    /// ended, too): an error, and nothing kept.
    @Test func aQueueThatCannotBeTakenIsAnError() async throws {
        let connection = try DriverhostConnection(driverhost: "/bin/sleep", arguments: ["5"])
        let kept = KeptClassQueues()
        #expect(throws: KeptClassQueuesError.self) { try kept.take([999], from: connection) }
        #expect(kept.descriptors.isEmpty)
        connection.process.signal(SIGKILL)
        _ = await connection.waitForExit()
    }
}
