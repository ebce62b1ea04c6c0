import DrvHostControl
import Foundation
import Glibc
@testable import HostdCore
import Testing

/// A plugin file replaced (copied beside it, renamed over it, as README
/// shows) by a version that still drives the device is an upgrade: the
/// instance stays, with its history, and runs the new file, its standby too.
@Suite(.serialized) struct PluginUpgradeTests {
    @Test func anUpgradeKeepsTheInstanceAndRunsTheNewFileEverywhere() async throws {
        let w = try simWorld(autoload: false)  // with the warm standby
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        // One crash, so that there is a history to keep.
        let crashed = await w.supervisor.observe()
        kill(try #require(try await w.supervisor.status("edu@sim:edu0").pid), SIGKILL)
        _ = try await within(10, waitingFor: "edu@sim:edu0 back after its crash") {
            await HostdTests.changes(crashed, until: .running, of: "edu@sim:edu0")
        }
        let before = try await w.supervisor.status("edu@sim:edu0")
        #expect(before.restarts == 1)

        let changes = await w.supervisor.observe()
        let file = w.plugins + "/edu.so"
        try replaceByRename(file)  // hostd's directory watcher sees it
        let seen = try await within(10, waitingFor: "edu@sim:edu0 on the new file") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        // A standby on the new file was started before the old driverhost
        // was told to stop, and it is what runs now: the outage of a crash.
        let stopping = try #require(seen.first { $0.state == .stopping }, "\(seen.map(\.state))")
        #expect(stopping.standbyPid != nil && stopping.standbyPid != before.standbyPid)
        #expect(!seen.contains { $0.state == .failed })
        let after = try await w.supervisor.status("edu@sim:edu0")
        #expect(after.pid != before.pid && after.pid == stopping.standbyPid)
        #expect(after.restarts == 1 && after.lastExit == before.lastExit, "\(after.restarts) \(after.lastExit ?? "-")")
        let inode = try #require(PluginFileIdentity(path: file)).inode
        #expect(maps(of: try #require(after.pid), inode: inode, path: file))
        // The standby loads its plugin after its spawn: awaited, bounded.
        let standby = try #require(after.standbyPid)
        try await within(10, waitingFor: "the standby to map the new file") {
            while !maps(of: standby, inode: inode, path: file) { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["5"]) == "120")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    /// A standby that loaded the old file is not used for the restart that
    /// follows a crash: the new driverhost runs the file as it is now.
    @Test func aStaleStandbyIsNotStartedAfterACrash() async throws {
        let w = try simWorld(autoload: false)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let before = try await w.supervisor.status("edu@sim:edu0")
        let standby = try #require(before.standbyPid)
        // The same bytes: nothing crashes by it.
        let overwriter = try InPlaceOverwriter(w.plugins + "/edu.so")
        try overwriter.overwrite()
        let changes = await w.supervisor.observe()
        let supervisor = w.supervisor
        kill(try #require(before.pid), SIGKILL)
        _ = try await within(10, waitingFor: "edu@sim:edu0 back after its crash") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        let after = try await supervisor.status("edu@sim:edu0")
        #expect(after.pid != standby, "the stale standby was started")
        #expect(await gone(standby, within: 10))
        await supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}

/// Copies the file beside itself and renames the copy over it: a new inode.
/// A plugin file rewritten in place (cp over it: same inode, here the same
/// bytes) through a hard link outside the plugin directory, so that the
/// directory watcher (which would upgrade the instance) stays out of it:
/// only the crash path decides.
final class InPlaceOverwriter {
    let file: String
    let link: String

    init(_ file: String) throws {
        self.file = file
        link = (file as NSString).deletingLastPathComponent + ".\((file as NSString).lastPathComponent)-link"
        try FileManager.default.linkItem(atPath: file, toPath: link)
    }

    deinit { try? FileManager.default.removeItem(atPath: link) }

    func overwrite() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: link))
        try handle.write(contentsOf: bytes)
        try handle.close()
    }
}

func replaceByRename(_ file: String) throws {
    let copy = (file as NSString).deletingLastPathComponent + "/.upgrade-\(UUID().uuidString)"
    try FileManager.default.copyItem(atPath: file, toPath: copy)
    guard rename(copy, file) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
}

/// The process maps the file of this inode under this path, and no
/// replaced (deleted) version of it.
func maps(of pid: pid_t, inode: UInt64, path: String) -> Bool {
    // (A /proc file says it is empty: read it to its end, not by its size.)
    guard let data = FileHandle(forReadingAtPath: "/proc/\(pid)/maps")?.readDataToEndOfFile() else { return false }
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n").filter { $0.hasSuffix(path) || $0.hasSuffix(path + " (deleted)") }
    return !lines.isEmpty && lines.allSatisfy { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return fields.count >= 6 && UInt64(fields[4]) == inode && !line.hasSuffix("(deleted)")
    }
}
