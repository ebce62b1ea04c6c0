import Foundation
import Glibc
import HostdCore
import Logging
import Testing
import TestSupport

/// A datagram socket standing in for journald's: what hostd sends there is
/// read back and its native-protocol fields taken apart.
final class FakeJournal {
    let path: String
    let fd: Int32

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString).sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(fd >= 0 && bound == 0, "cannot bind \(path): \(String(cString: strerror(errno)))")
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next entry's fields, waiting at most `seconds`.
    func next(within seconds: Int32 = 10) throws -> [String: String] {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        try #require(poll(&poller, 1, seconds * 1000) == 1, "no journal entry within \(seconds) s")
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let n = recv(fd, &buffer, buffer.count, 0)
        try #require(n > 0)
        return try Self.fields(Array(buffer[..<n]))
    }

    /// Entries until one satisfies `wanted`, at most `limit` of them.
    func first(limit: Int = 200, where wanted: ([String: String]) -> Bool) throws -> [String: String] {
        for _ in 0..<limit {
            let entry = try next()
            if wanted(entry) { return entry }
        }
        throw JournalTestError.notFound
    }

    enum JournalTestError: Error { case notFound, malformed }

    static func fields(_ bytes: [UInt8]) throws -> [String: String] {
        var out: [String: String] = [:]
        var i = 0
        while i < bytes.count {
            let nameEnd = try #require(bytes[i...].firstIndex { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") })
            let name = String(decoding: bytes[i..<nameEnd], as: UTF8.self)
            if bytes[nameEnd] == UInt8(ascii: "=") {
                let end = try #require(bytes[nameEnd...].firstIndex(of: UInt8(ascii: "\n")))
                out[name] = String(decoding: bytes[(nameEnd + 1)..<end], as: UTF8.self)
                i = end + 1
            } else {
                let start = nameEnd + 9
                guard start <= bytes.count else { throw JournalTestError.malformed }
                let length = bytes[(nameEnd + 1)..<start].reversed().reduce(0) { $0 << 8 | Int($1) }
                guard start + length < bytes.count, bytes[start + length] == UInt8(ascii: "\n") else { throw JournalTestError.malformed }
                out[name] = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
                i = start + length + 1
            }
        }
        return out
    }
}

@Suite(.serialized) struct JournalLogHandlerTests {
    @Test func aRecordArrivesWithItsFields() throws {
        let journal = try FakeJournal()
        var logger = Logger(label: "hostd.test") { JournalLogHandler(label: $0, journal: .init(path: journal.path)) }
        logger[metadataKey: "component"] = "supervisor"
        logger.warning("first line\nsecond line", metadata: ["instance": "edu@0000:00:05.0", "class-device": "ublkb0"])
        let line = #line - 1
        let entry = try journal.next()
        #expect(entry["MESSAGE"] == "first line\nsecond line")
        #expect(entry["PRIORITY"] == "4")
        #expect(entry["SYSLOG_IDENTIFIER"] == "hostd")
        #expect(entry["DRVHOST_LOGGER"] == "hostd.test")
        #expect(entry["DRVHOST_INSTANCE"] == "edu@0000:00:05.0")
        #expect(entry["DRVHOST_CLASS_DEVICE"] == "ublkb0")
        #expect(entry["DRVHOST_COMPONENT"] == "supervisor")
        #expect(entry["CODE_FILE"]?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(entry["CODE_LINE"] == String(line))
        #expect(entry["CODE_FUNC"]?.hasPrefix("aRecordArrivesWithItsFields") == true)
    }

    @Test func levelsAreSyslogPrioritiesAndBelowTheLevelNothingIsSent() throws {
        let journal = try FakeJournal()
        let sink = JournalLogHandler.Journal(path: journal.path)
        var logger = Logger(label: "hostd") { JournalLogHandler(label: $0, journal: sink) }
        logger.logLevel = .info
        logger.debug("not sent")
        for level in [Logger.Level.info, .notice, .error, .critical] { logger.log(level: level, "at \(level)") }
        let entries = try (0..<4).map { _ in try journal.next() }
        #expect(entries.map { $0["MESSAGE"] } == ["at info", "at notice", "at error", "at critical"])
        #expect(entries.map { $0["PRIORITY"] } == ["6", "5", "3", "2"])
    }

    @Test func theJournalIsUsedOnlyWhenStderrIsTheJournalsStream() throws {
        let journal = try FakeJournal()
        let fd = open(journal.path + ".stderr", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        defer { close(fd); unlink(journal.path + ".stderr") }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        let mine = "\(info.st_dev):\(info.st_ino)"
        func path(_ environment: [String: String], systemSocket: String = journal.path) -> String? {
            JournalLogHandler.socketPath(environment: environment, stderrFD: fd, systemSocket: systemSocket)
        }
        #expect(path([:]) == nil)
        #expect(path(["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino + 1)"]) == nil)
        #expect(path(["JOURNAL_STREAM": mine]) == journal.path)
        #expect(path(["JOURNAL_STREAM": mine], systemSocket: journal.path + ".absent") == nil)
        #expect(path([JournalLogHandler.testSocketVariable: "/elsewhere"]) == "/elsewhere")
    }

    /// driverhost's lines, re-logged by hostd, carry the instance, plugin
    /// and device as fields: `journalctl DRVHOST_INSTANCE=edu@sim:edu0`.
    @Test func aDriverhostsLinesCarryItsInstance() async throws {
        let journal = try FakeJournal()
        let sink = JournalLogHandler.Journal(path: journal.path)
        let logger = Logger(label: "hostd") { JournalLogHandler(label: $0, journal: sink) }
        let w = try simWorld(autoload: false, logger: logger) { $0.warmStandby = false }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let attached = try journal.first { $0["MESSAGE"]?.contains("plugin edu 1.0.0 attached") == true }
        #expect(attached["DRVHOST_INSTANCE"] == "edu@sim:edu0")
        #expect(attached["DRVHOST_PLUGIN"] == "edu")
        #expect(attached["DRVHOST_DEVICE"] == "sim:edu0")
        #expect(attached["DRVHOST_SOURCE"] == "driverhost")
        #expect(attached["MESSAGE"]?.hasPrefix("driverhost[sim:edu0]: ") == true)
        #expect(attached["PRIORITY"].flatMap(Int.init).map { (2...7).contains($0) } == true)
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func metadataKeysBecomeJournalFieldNames() {
        #expect(JournalLogHandler.fieldName(forMetadataKey: "instance") == "DRVHOST_INSTANCE")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "class-device.kind") == "DRVHOST_CLASS_DEVICE_KIND")
        #expect(JournalLogHandler.fieldName(forMetadataKey: String(repeating: "x", count: 100)).count == 64)
    }
}

/// The hostd program itself, pointed at a fake journal by the test-only
/// variable: its own records arrive with their fields, and nothing of them
/// goes to stderr.
@Suite struct HostdJournalTests {
    @Test func hostdSendsItsRecordsToTheJournal() throws {
        let journal = try FakeJournal()
        let dir = try RepoPaths.pluginDirectory([:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = dir + "/hostd.toml"
        try FileManager.default.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: false)
        try """
            plugin_dir = "\(dir)/plugins"
            socket = "\(dir)/.control.sock"
            state_dir = "\(dir)/.state"
            intent_dir = "\(dir)/.intent"
            pci = false
            [instance]
            cgroup = ""
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let hostd = Process()
        hostd.executableURL = URL(fileURLWithPath: RepoPaths.binary("hostd"))
        hostd.arguments = ["--config", config, "--driverhost", RepoPaths.binary("driverhost")]
        hostd.environment = ProcessInfo.processInfo.environment.merging(
            [JournalLogHandler.testSocketVariable: journal.path]) { $1 }
        let stderr = Pipe()
        hostd.standardError = stderr
        try hostd.run()
        defer { if hostd.isRunning { hostd.interrupt() } }
        let started = try journal.first { $0["MESSAGE"] == "started" }
        #expect(started["SYSLOG_IDENTIFIER"] == "hostd")
        #expect(started["DRVHOST_LOGGER"] == "hostd")
        #expect(started["PRIORITY"] == "6")
        #expect(started["DRVHOST_PLUGINS"] == "0" && started["DRVHOST_INSTANCES"] == "0", "\(started)")
        #expect(started["CODE_FILE"] == "HostdCore/Supervisor.swift")
        hostd.terminate()
        let stopped = try journal.first { $0["MESSAGE"]?.hasPrefix("stopped") == true }
        #expect(stopped["PRIORITY"] == "6")
        hostd.waitUntilExit()
        #expect(hostd.terminationStatus == 0)
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!text.contains("started"), "records went to stderr too: \(text)")
    }
}
