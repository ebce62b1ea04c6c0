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
