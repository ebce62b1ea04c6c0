import Foundation
import Glibc
import HostdCore
import Testing

/// hostd's children: each leads its own session and process group, and
/// what it leaves in the group is killed when it is reaped.
@Suite struct ChildProcessTests {
    @Test func aChildLeadsItsOwnGroupAndTakesItAlongWhenItEnds() async throws {
        var out: [Int32] = [-1, -1]
        #expect(pipe(&out) == 0)
        // Prints the pid of a sleep it leaves behind and its own session id.
        let child = try ChildProcess(path: "/bin/sh", arguments: [
            "-c", "sleep 600 </dev/null >/dev/null 2>&1 & echo $! $(cut -d' ' -f6 /proc/$$/stat)",
        ], stdoutFD: out[1])
        close(out[1])
        defer { close(out[0]) }
        var printed: [UInt8] = []
        let status = child.wait(watching: [out[0]]) { _, bytes in printed += bytes }
        #expect(status == .exited(0))
        let pids = String(decoding: printed, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { pid_t($0) }
        try #require(pids.count == 2)
        #expect(pids[1] == child.pid)  // setsid: session (and group) id = its pid
        #expect(await gone(pids[0], within: 10), "sleep \(pids[0]) outlived its parent")
    }
}
