import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Logging
import ServiceLifecycle
import Testing
import TestSupport

/// Prometheus text from the real supervisor on simulated devices, and the
/// HTTP endpoint that serves it.
@Suite(.serialized) struct MetricsTests {
    func value(_ text: String, _ name: String, _ labels: [String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
            guard labels.allSatisfy({ line.contains($0) }), let number = line.split(separator: " ").last else { continue }
            return Double(number)
        }
        return nil
    }

    @Test func countersStateAndRestartsPerInstance() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let edu0 = #"instance="edu@sim:edu0""#
        _ = try await w.supervisor.call("edu@sim:edu0", command: "pingpong", arguments: ["25"])
        let first = await w.supervisor.metrics()
        #expect(first.contains("# TYPE drvhost_instance_interrupts_total counter"))
        #expect((value(first, "drvhost_instance_interrupts_total", [edu0]) ?? 0) >= 25)
        #expect(value(first, "drvhost_instance_state", [edu0, #"state="running""#]) == 1)
        // Storms are counted apart from interrupts (edu answers each one).
        #expect(first.contains("# TYPE drvhost_instance_storms_total counter"))
        #expect(value(first, "drvhost_instance_storms_total", [edu0]) == 0)
        #expect(value(first, "drvhost_instance_state", [edu0, #"state="failed""#]) == 0)

        let changes = await w.supervisor.observe()
        kill(try #require(try await w.supervisor.status("edu@sim:edu0").pid), SIGKILL)
        _ = try await within(10, waitingFor: "restart") { await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0") }
        let second = await w.supervisor.metrics()
        #expect(value(second, "drvhost_instance_restarts_total", [edu0]) == 1)
        // Counters never go back, however often they are scraped.
        #expect((value(second, "drvhost_instance_interrupts_total", [edu0]) ?? 0) >= (value(first, "drvhost_instance_interrupts_total", [edu0]) ?? 0))

        _ = try await w.supervisor.unload("edu@sim:edu0")
        #expect(!(await w.supervisor.metrics()).contains(edu0))
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func theHTTPEndpointServesGETMetricsOnly() async throws {
        let port = Int.random(in: 20_000...60_000)
        let server = MetricsHTTPServer(listen: try #require(HostdConfig.ListenAddress("127.0.0.1:\(port)")),
                                       logger: Logger(label: "test")) { "drvhost_up 1\n" }
        let running = Task { try await server.run() }
        defer { running.cancel() }
        @Sendable func get(_ request: String) throws -> String {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: in_port_t(UInt16(port).bigEndian),
                                      sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var answer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else { break }
                answer += chunk[..<n]
            }
            return String(decoding: answer, as: UTF8.self)
        }
        // The server is up once it accepts; until then, connecting fails.
        let metrics = try await within(10, waitingFor: "the metrics endpoint") { () async throws -> String in
            while true {
                if let answer = try? get("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") { return answer }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(metrics.hasPrefix("HTTP/1.1 200 OK"))
        #expect(metrics.contains("Content-Type: text/plain; version=0.0.4"))
        #expect(metrics.hasSuffix("\r\n\r\ndrvhost_up 1\n"))
        #expect(try get("GET / HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 404 Not Found"))
        #expect(try get("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.1 405 Method Not Allowed"))
    }
}

@Suite(.serialized) struct WatchTests {
    @Test func aWatchStartsWithEveryInstanceThenFollowsChanges() async throws {
        let w = try simWorld(autoload: true) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let watch = await w.supervisor.watch(buffer: 64)
        kill(try #require(try await w.supervisor.status("edu@sim:edu1").pid), SIGKILL)
        let seen = try await within(10, waitingFor: "edu@sim:edu1's restart in the watch") {
            var seen: [InstanceStatus] = []
            for await status in watch {
                seen.append(status)
                if status.name == "edu@sim:edu1" && status.state == .running && status.restarts == 1 { break }
            }
            return seen
        }
        #expect(seen.prefix(2).map(\.name) == ["edu@sim:edu0", "edu@sim:edu1"])
        #expect(seen.dropFirst(2).map(\.state) == [.restarting, .starting, .running])
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}

@Suite(.serialized) struct LogsTests {
    @Test func anInstancesLogHoldsItsDriverhostsLinesAcrossRestartsAndFollows() async throws {
        let w = try simWorld(autoload: false) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let follow = try await w.supervisor.logs("edu@sim:edu0", lines: 1000, follow: true)
        let changes = await w.supervisor.observe()
        kill(try #require(try await w.supervisor.status("edu@sim:edu0").pid), SIGKILL)
        _ = try await within(10, waitingFor: "restart") { await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0") }
        // Both driverhosts said "attached"; the follower sees the second.
        let attached = try await within(10, waitingFor: "two attach lines") {
            var count = 0
            for await line in follow where line.contains("plugin edu 1.0.0 attached") {
                count += 1
                if count == 2 { break }
            }
            return count
        }
        #expect(attached == 2)
        let last = try await w.supervisor.logs("edu@sim:edu0", lines: 1000, follow: false)
        var lines: [String] = []
        for await line in last { lines.append(line) }
        #expect(lines.filter { $0.contains("attached") }.count == 2)
        #expect(lines.allSatisfy { $0.hasPrefix("driverhost[sim:edu0]: ") })
        await #expect(throws: ControlError.self) { try await w.supervisor.logs("nope", lines: 1, follow: false) }
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func theRingKeepsTheNewestLinesCut() {
        var ring = LogRing()
        for i in 0..<(LogRing.capacity + 5) { ring.append("line \(i)") }
        #expect(ring.last(2) == ["line \(LogRing.capacity + 3)", "line \(LogRing.capacity + 4)"])
        #expect(ring.last(LogRing.capacity + 10).count == LogRing.capacity)
        ring.append(String(repeating: "x", count: 5000))
        #expect(ring.last(1).first?.utf8.count == LogRing.maxLine + "…".utf8.count)
    }
}
