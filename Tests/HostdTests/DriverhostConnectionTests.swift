import DriverHostCore
import DrvHostControl
import Foundation
@testable import HostdCore
import Testing
import TestSupport
import DrvHostProtocol

/// hostd's side of the control line protocol against a real driverhost on
/// its --simulate device: attach notice, calls with escaped arguments and
/// results, errors, stop.
@Suite struct DriverhostConnectionTests {
    /// The next event that is not a log line (driverhost's stderr).
    func next(_ events: inout AsyncStream<DriverhostConnection.Event>.Iterator) async -> DriverhostConnection.Event? {
        while let event = await events.next() {
            if case .log = event { continue }
            return event
        }
        return nil
    }

    @Test func callsTravelOverTheControlSocket() async throws {
        let connection = try DriverhostConnection(
            driverhost: RepoPaths.binary("driverhost"), arguments: ["--simulate", "--plugin", RepoPaths.testPlugin("good")])
        var events = connection.events.makeAsyncIterator()
        guard case .attached? = await next(&events) else {
            Issue.record("no attached notice")
            return
        }
        #expect(connection.requestCall(id: "1", command: "add", arguments: ["-5", "3"]))
        guard case .result(let id, let text)? = await next(&events) else {
            Issue.record("no result")
            return
        }
        #expect(id == "1" && text == "-2")
        // An argument with a space and a newline arrives whole, and is refused
        // by the signature, not by the framing.
        #expect(connection.requestCall(id: "id with space", command: "add", arguments: ["1 2\n", "3"]))
        guard case .error(let errorID, let message)? = await next(&events) else {
            Issue.record("no error")
            return
        }
        #expect(errorID == "id with space")
        #expect(message.contains("1 2\n"))
        connection.requestStop()
        // The channel's end comes first, always: the watcher reads a
        // stream to its end before it reports the exit.
        guard case .channelEnded? = await next(&events), case .exited(let status)? = await next(&events) else {
            Issue.record("no channel end, then exit")
            return
        }
        #expect(status == .exited(0))
    }

    func standby(_ arguments: [String]) throws -> DriverhostConnection {
        try DriverhostConnection(driverhost: RepoPaths.binary("driverhost"), arguments: arguments + ["--standby"],
                                 environment: ["SWIFT_BACKTRACE": "enable=no"])
    }

    /// The device node does not exist: a standby that opened the device
    /// before its start would exit with deviceUnavailable, not 0.
    @Test func aStandbyLeavesTheDeviceAloneUntilStarted() async throws {
        let absent = ["--device", "0000:00:05.0", "--device-node", "/nonexistent/drvproxy", "--plugin", RepoPaths.testPlugin("good")]
        let stopped = try standby(absent)
        stopped.requestStop()
        #expect(await stopped.waitForExit() == .exited(0))

        let started = try standby(absent)
        #expect(started.requestStart(restartCount: 1))
        #expect(await started.waitForExit() == .exited(ExitCode.deviceUnavailable.rawValue))
    }

    @Test func aStartedStandbyAttachesAndAnswers() async throws {
        let connection = try standby(["--simulate", "--plugin", RepoPaths.testPlugin("good")])
        // Sent back to back: the call behind the start must not be lost.
        #expect(connection.requestStart(restartCount: 2))
        #expect(connection.requestCall(id: "1", command: "add", arguments: ["2", "3"]))
        var events = connection.events.makeAsyncIterator()
        guard case .attached? = await next(&events), case .result("1", "5")? = await next(&events) else {
            Issue.record("no attach and result")
            return
        }
        connection.requestStop()
        #expect(await connection.waitForExit() == .exited(0))
    }

    @Test func aStandbyRefusesABadPluginWithoutWaiting() async throws {
        let connection = try standby(["--simulate", "--plugin", RepoPaths.testPlugin("abi2")])
        #expect(await connection.waitForExit() == .exited(ExitCode.abiMismatch.rawValue))
    }

    @Test func linesAreParsedStrictly() {
        guard case .result(let id, let text)? = DriverhostConnection.parse("result 7 a%20b%0Ac") else {
            Issue.record("not parsed")
            return
        }
        #expect(id == "7" && text == "a b\nc")
        #expect(DriverhostConnection.parse("result 7") == nil)
        #expect(DriverhostConnection.parse("result 7 bad%2") == nil)
        #expect(DriverhostConnection.parse("hello") == nil)
    }

    @Test func aClassDeviceLineNamesKindAndDevice() {
        guard case .classDevice(let device)? = DriverhostConnection.parse("device net dh-edu0") else {
            Issue.record("not parsed")
            return
        }
        #expect(device == ClassDevice(kind: "net", name: "dh-edu0"))
        #expect(DriverhostConnection.parse("device block") == nil)
        #expect(DriverhostConnection.parse("device block a%20b") == nil)  // no spaces in a name
        #expect(DriverhostConnection.parse("device block bad%2") == nil)
    }

    @Test func aCountersLineIsParsedStrictly() {
        guard case .classCounters(let kind, let counters)? = DriverhostConnection.parse("counters net rx_frames=12 carrier=1") else {
            Issue.record("not parsed")
            return
        }
        #expect(kind == "net")
        #expect(counters == [ClassCounter(name: "rx_frames", value: 12), ClassCounter(name: "carrier", value: 1)])
        #expect(DriverhostConnection.parse("counters net") == nil)
        #expect(DriverhostConnection.parse("counters net rx_frames=-1") == nil)
        #expect(DriverhostConnection.parse("counters net rx_frames=1  carrier=1") == nil)
        #expect(DriverhostConnection.parse("counters net Rx=1") == nil)
        #expect(DriverhostConnection.parse("counters net rx_frames") == nil)
        let many = (0...ClassCounter.maxCount).map { "c\($0)=1" }.joined(separator: " ")
        #expect(DriverhostConnection.parse("counters net \(many)") == nil)
    }

    /// A driverhost serving the net class (the loop-back test plugin on the
    /// simulated device, a real TAP interface) reports its counters at
    /// attach and again once they changed.
    @Test(.enabled(if: TestTAPInterface.canMake, "needs /dev/net/tun as root"))
    func theNetClassReportsItsCounters() async throws {
        let name = "dhtbp0s0"
        TestTAPInterface.end(name)
        defer { TestTAPInterface.end(name) }
        let connection = try DriverhostConnection(
            driverhost: RepoPaths.binary("driverhost"),
            arguments: ["--simulate", "--plugin", RepoPaths.testPlugin("net-loop"), "--net-name", "dhtb{pci}"])
        var events = connection.events.makeAsyncIterator()
        var first: [ClassCounter]?
        while first == nil, let event = await next(&events) {
            switch event {
            case .classCounters("net", let counters): first = counters
            case .exited(let status): Issue.record("exited: \(status)"); return
            default: continue
            }
        }
        #expect(first?.first { $0.name == "rx_malformed" }?.value == 0)
        #expect(connection.requestCall(id: "1", command: "set_link", arguments: ["1"]))
        #expect(connection.requestCall(id: "2", command: "receive_malformed", arguments: []))
        var latest: [ClassCounter] = []
        func value(_ name: String) -> UInt64? { latest.first { $0.name == name }?.value }
        while value("rx_malformed") != 4 || value("carrier") != 1, let event = await next(&events) {
            if case .classCounters("net", let counters) = event { latest = counters }
            if case .exited(let status) = event { Issue.record("exited: \(status)"); return }
        }
        #expect(value("link_changes") == 1)
        connection.requestStop()
        #expect(await connection.waitForExit() == .exited(0))
    }
}
