import CDrvHost
@testable import DriverHostCore
import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing
import TestSupport
import DrvHostProtocol

/// hostctl trace on the real supervisor, driverhost and C edu plugin, on
/// devsim's edu: what the plugin wrote, the event and its callback, and
/// the bounds (a reader that does not keep up gets drop counts, the
/// instance neither stalls nor is killed).
@Suite(.serialized) struct TraceTests {
    /// Reads batches until `done` says so (bounded by the caller's within).
    static func collect(_ stream: AsyncStream<TraceBatch>, until done: ([TraceRecord]) -> Bool) async -> ([TraceRecord], TraceBatch?) {
        var records: [TraceRecord] = []
        var last: TraceBatch?
        for await batch in stream {
            records += batch.records
            last = batch
            if done(records) { break }
        }
        return (records, last)
    }

    @Test func aTraceShowsThePluginsWritesWithTheirValuesTheInterruptAndItsCallback() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let trace = try await w.supervisor.trace("edu@sim:edu0")
        #expect(try await w.supervisor.call("edu@sim:edu0", command: "liveness", arguments: ["305441741"]) == "3989525554")
        let factorial = try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["5"])
        #expect(factorial == "120")
        let (records, _) = try await within(10, waitingFor: "the factorial's read in the trace") {
            await Self.collect(trace) { records in
                records.contains { $0.kind == .read && $0.offset == 0x08 } && records.contains { $0.callback == "command" && $0.timeNs > 0 }
                    && records.filter { $0.callback == "command" }.count == 2
            }
        }
        func writes(_ offset: UInt64) -> [UInt64] {
            records.filter { $0.kind == .write && $0.bar == 0 && $0.offset == offset && $0.width == 4 }.compactMap(\.value)
        }
        #expect(writes(0x04) == [0x1234abcd])
        #expect(records.contains { $0.kind == .read && $0.offset == 0x04 && $0.value == 0xedcb5432 })
        #expect(writes(0x08) == [5])
        #expect(records.contains { $0.kind == .read && $0.offset == 0x08 && $0.value == 120 })
        let event = try #require(records.first { $0.kind == .event && ($0.snapshot?.first ?? 0) & 1 != 0 })
        let interrupt = try #require(records.first { $0.callback == "interrupt" })
        // The callback starts after the interrupt it was given, and the
        // factorial's write comes before both.
        let written = try #require(records.first { $0.kind == .write && $0.offset == 0x08 })
        #expect(written.timeNs <= event.timeNs && event.timeNs <= interrupt.timeNs)
        #expect((interrupt.durationNs ?? 0) > 0)
        // Commands last longer than the interrupt they waited for.
        let command = try #require(records.last { $0.callback == "command" })
        #expect(command.timeNs < interrupt.timeNs && (command.durationNs ?? 0) > (interrupt.durationNs ?? 0))
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aTraceFollowsTheInstanceIntoItsRestartedDriverhost() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = true }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let trace = try await w.supervisor.trace("edu@sim:edu0")
        let changes = await w.supervisor.observe()
        kill(try #require(try await w.supervisor.status("edu@sim:edu0").pid), SIGKILL)
        _ = try await within(10, waitingFor: "restart") { await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0") }
        #expect(try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["7"]) == "5040")
        let (records, _) = try await within(10, waitingFor: "the restarted driverhost's trace") {
            await Self.collect(trace) { records in records.contains { $0.kind == .read && $0.offset == 0x08 && $0.value == 5040 } }
        }
        #expect(records.contains { $0.kind == .write && $0.offset == 0x08 && $0.value == 7 })
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aReaderThatFallsBehindGetsDropCountsNotAStallAndTheTraceEndsWithIt() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let log = try await w.supervisor.logs("edu@sim:edu0", lines: 0, follow: true)
        do {
            let trace = try await w.supervisor.trace("edu@sim:edu0")
            // Far more than the rate bound lets through, not read meanwhile.
            let rounds = 20_000
            let started = ContinuousClock.now
            #expect(try await w.supervisor.call("edu@sim:edu0", command: "pingpong", arguments: ["\(rounds)"]) == "\(rounds)")
            let took = ContinuousClock.now - started
            // What is still buffered, then (each batch carries the counts
            // so far, the once-a-second one too) the drop counts.
            let (records, last) = try await within(10, waitingFor: "a drop count (\(rounds) round trips took \(took))") {
                var records: [TraceRecord] = []
                for await batch in trace {
                    records += batch.records
                    if batch.droppedInDriverhost + batch.droppedInHostd > 0 { return (records, Optional(batch)) }
                }
                return (records, nil)
            }
            // Which end dropped depends on the machine's speed: the reader
            // (hostd) at once, the driverhost's ring beyond the rate bound.
            _ = try #require(last)
            // Each round is a raise, an event and a callback at least.
            #expect(records.count < 3 * rounds)
            let status = try await w.supervisor.status("edu@sim:edu0")
            #expect(status.state == .running && status.restarts == 0 && status.lastExit == nil)
        }
        // The reader has gone: the driverhost stops tracing.
        let off = try await within(10, waitingFor: "tracing off") {
            for await line in log where line.contains("tracing off") { return line }
            return ""
        }
        #expect(off.contains("records dropped in all"))
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func callbackDurationsReachTheMetricsAsAHistogram() async throws {
        let w = try simWorld(autoload: false) { config in
            config.warmStandby = false
            config.livenessMs = 2_100  // a heartbeat every 420 ms
            config.limits.maxCallbackMs = 2_000
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        #expect(try await w.supervisor.call("edu@sim:edu0", command: "pingpong", arguments: ["640"]) == "640")
        let labels = [#"instance="edu@sim:edu0""#, #"callback="interrupt""#]
        @Sendable func value(_ text: String, _ name: String, _ extra: [String] = []) -> Double? {
            for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
                guard (labels + extra).allSatisfy({ line.contains($0) }), let number = line.split(separator: " ").last else { continue }
                return Double(number)
            }
            return nil
        }
        // One interrupt in 64 is timed: 640 round trips give 10. A heartbeat
        // during the call may report part of them: wait for the rest.
        let supervisor = w.supervisor
        let text = try await within(10, waitingFor: "interrupt durations in the metrics") { () async -> String in
            while true {
                let text = await supervisor.metrics()
                if (value(text, "drvhost_instance_callback_duration_seconds_count") ?? 0) >= 10 { return text }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let count = try #require(value(text, "drvhost_instance_callback_duration_seconds_count"))
        #expect(count <= 11)
        #expect(value(text, "drvhost_instance_callback_duration_seconds_bucket", [#"le="+Inf""#]) == count)
        #expect((value(text, "drvhost_instance_callback_duration_seconds_sum") ?? 0) > 0)
        #expect((value(text, "drvhost_instance_callback_duration_seconds_bucket", [#"le="2.5""#]) ?? -1) <= count)
        // attach was timed too, and the status says the same.
        #expect(text.contains(#"callback="attach""#))
        let status = try await w.supervisor.status("edu@sim:edu0")
        #expect(status.callbackDurations?.contains { $0.callback == "interrupt" && Double($0.count) >= count } == true)
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}

/// The line formats between driverhost and hostd, and the ring under them.
@Suite struct TraceLineTests {
    @Test func driverhostsRecordsReadBackAsSent() throws {
        var write = cdh_trace_record()
        write.kind = UInt32(CDH_TRACE_WRITE.rawValue)
        write.time_ns = 123; write.a = 2; write.b = 0x1000; write.c = 0xdeadbeef; write.width = 4
        var event = cdh_trace_record()
        event.kind = UInt32(CDH_TRACE_EVENT.rawValue)
        event.time_ns = 456; event.a = 9; event.b = 1; event.flags = 0x4; event.width = 2; event.snap = (0x80, 0xff, 0, 0)
        var callback = cdh_trace_record()
        callback.kind = UInt32(CDH_TRACE_CALLBACK.rawValue)
        callback.time_ns = 789; callback.a = UInt64(CDH_CALLBACK_TIMER.rawValue); callback.b = 4242
        let line = [write, event, callback].reduce(into: TraceLine(dropped: 7)) { DriverHostCore.Trace.append($1, to: &$0) }
        guard case .trace(let dropped, let records)? = DriverhostMessage(line: line.line) else {
            Issue.record("not parsed: \(line.line)")
            return
        }
        #expect(dropped == 7 && records.count == 3)
        #expect(records[0].kind == .write && records[0].bar == 2 && records[0].offset == 0x1000 && records[0].value == 0xdeadbeef && records[0].width == 4)
        #expect(records[1].kind == .event && records[1].seq == 9 && records[1].vector == 1 && records[1].flags == 4 && records[1].snapshot == [0x80, 0xff])
        #expect(records[2].callback == "timer" && records[2].durationNs == 4242 && records[2].timeNs == 789)
    }

    @Test(arguments: ["x 1", "1 r,5,0,10,3,ff", "1 r,5,9,10,4,ff", "1 w,5,0,zz,4,1", "1 c,5,reboot,1", "1 e,5,1,0,0,1,2,3,4,5", "1 q,1"])
    func aBadRecordDropsItsWholeLine(_ line: String) {
        #expect(DriverhostMessage(line: "trace " + line) == nil)
    }

    @Test func durationsReadBackAndBadOnesAreRefused() throws {
        let timing = CallbackTiming()
        timing.add(CDH_CALLBACK_COMMAND, durationNs: 3_000)
        timing.add(CDH_CALLBACK_COMMAND, durationNs: 3_000_000_000)
        let lines = timing.report()
        #expect(lines.count == 1 && timing.report().isEmpty)
        let line = try #require(lines.first)
        #expect(line.line.hasPrefix("durations "))
        guard case .durations(let figures)? = DriverhostMessage(line: line.line) else {
            Issue.record("not parsed: \(line.line)")
            return
        }
        #expect(figures.callback == "command" && figures.count == 2 && figures.sumNs == 3_000_003_000)
        #expect(figures.buckets.first { $0.leNs == 5_000 }?.count == 1 && figures.buckets.last?.count == 1)
        #expect(DriverhostMessage(line: "durations command 1 5 10:2") == nil)   // more in a bucket than in all
        #expect(DriverhostMessage(line: "durations command 3 5 10:2,5:3") == nil)  // bounds going down
        #expect(DriverhostMessage(line: "durations reboot 1 5 10:1") == nil)
        // Across driverhosts, hostd adds them up.
        var trace = InstanceTrace()
        trace.take(figures)
        trace.take(figures)  // cumulative: the same driverhost's figures replace
        #expect(trace.durations?.first?.count == 2)
        trace.driverhostEnded()
        trace.take(figures)
        #expect(trace.durations?.first?.count == 4 && trace.durations?.first?.buckets.last?.count == 2)
        #expect(HostdMetrics.seconds(2_500) == "0.0000025" && HostdMetrics.seconds(1_000_000_000) == "1")
    }

    /// Four threads add to a small ring while one drains it: every record
    /// is taken whole or counted as dropped, none twice.
    @Test func theRingLosesNothingUncounted() async {
        let ring = cdh_trace_ring_create(256)!
        defer { cdh_trace_ring_destroy(ring) }
        let perThread = 20_000
        let address = UInt(bitPattern: ring)
        let producers = (0..<4).map { thread in
            Thread {
                let ring = OpaquePointer(bitPattern: address)!
                for i in 0..<perThread {
                    var record = cdh_trace_record()
                    record.a = UInt64(thread)
                    record.b = UInt64(i)
                    record.c = UInt64(thread) << 32 | UInt64(i)
                    _ = cdh_trace_ring_push(ring, &record)
                }
            }
        }
        producers.forEach { $0.start() }
        var taken = 0, torn = 0
        var last = [Int](repeating: -1, count: 4)
        var outOfOrder = 0
        var record = cdh_trace_record()
        while taken + Int(cdh_trace_ring_dropped(ring)) < 4 * perThread {
            guard cdh_trace_ring_pop(ring, &record) == 1 else { continue }
            taken += 1
            if record.c != record.a << 32 | record.b { torn += 1 }
            let thread = Int(record.a)
            if Int(record.b) <= last[thread] { outOfOrder += 1 }
            last[thread] = Int(record.b)
        }
        #expect(torn == 0 && outOfOrder == 0)
        #expect(cdh_trace_ring_pop(ring, &record) == 0)
        #expect(taken + Int(cdh_trace_ring_dropped(ring)) == 4 * perThread)
    }
}
