import Foundation
import Glibc
@testable import HostdCore
import Testing

/// The records a hostd leaves for the next one, and how a recorded process
/// is recognised (pid and start time) or refused.
@Suite struct DriverhostRecordTests {
    func store() throws -> DriverhostRecordStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("records-\(UUID().uuidString.prefix(8))").path
        let store = DriverhostRecordStore(directory: directory)
        try store.prepare()
        return store
    }

    @Test func recordsRoundTripAndWhatIsNotOneIsRemoved() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let record = DriverhostRecord(instance: "edu@sim:edu0", pluginFile: "edu.so", plugin: "edu", device: "sim:edu0",
                                      pid: 42, startTime: 7, socket: store.newSocketPath(), classKind: "net",
                                      className: "dh-edu-p0s3", releasesAtStart: 3)
        try store.save(record)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: store.directory + "/broken.json"))
        var problems: [String] = []
        let loaded = store.loadAll { problems.append($0) }
        #expect(loaded == ["edu@sim:edu0": record])
        #expect(loaded["edu@sim:edu0"]?.classDevice?.name == "dh-edu-p0s3")
        #expect(problems.count == 1 && !FileManager.default.fileExists(atPath: store.directory + "/broken.json"))
        store.remove("edu@sim:edu0")
        #expect(store.loadAll { _ in }.isEmpty)
    }

    /// A restart saves the instance's record again: the new one replaces
    /// the old whole, and nothing else is left in the directory.
    @Test func aSavedRecordReplacesTheOldWhole() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        var record = DriverhostRecord(instance: "edu@sim:edu0", pluginFile: "edu.so", plugin: "edu", device: "sim:edu0",
                                      pid: 42, startTime: 7, socket: store.newSocketPath(), releasesAtStart: 3)
        try store.save(record)
        record.pid = 43
        record.startTime = 8
        record.releasesAtStart = nil
        try store.save(record)
        #expect(store.loadAll { _ in } == ["edu@sim:edu0": record])
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory) == ["edu@sim:edu0.json"])
    }

    @Test func socketsNoRecordNamesAreRemoved() throws {
        let store = try store()
        defer { try? FileManager.default.removeItem(atPath: store.directory) }
        let kept = store.newSocketPath(), stale = store.newSocketPath()
        #expect(kept != stale && kept.utf8.count < 108)
        for path in [kept, stale] { #expect(FileManager.default.createFile(atPath: path, contents: nil)) }
        let record = DriverhostRecord(instance: "a", pluginFile: "a.so", plugin: "a", device: "sim:a", pid: 1, startTime: 1,
                                      socket: kept)
        store.removeStaleSockets(keeping: [record])
        #expect(FileManager.default.fileExists(atPath: kept) && !FileManager.default.fileExists(atPath: stale))
    }

    @Test func aProcessIsAdoptedOnlyWithItsOwnStartTime() throws {
        let me = getpid()
        let start = try #require(ChildProcess.startTime(of: me))
        let adopted = try ChildProcess(adopting: me, startTime: start)
        #expect(adopted.adopted && !adopted.hasExited)
        #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess(adopting: me, startTime: start + 1) }
        // A pid nobody has (above pid_max) is refused too.
        #expect(throws: ChildProcess.SpawnError.self) { try ChildProcess(adopting: 1 << 30, startTime: start) }
    }
}
