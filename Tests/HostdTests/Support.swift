import DrvHostControl
import Foundation
import Glibc
import TestSupport

extension RepoPaths {
    /// A fresh directory holding copies of the given files, mode 0644.
    static func pluginDirectory(_ files: [String: String]) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostd-plugins-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, source) in files {
            try FileManager.default.copyItem(atPath: source, toPath: "\(directory)/\(name)")
            chmod("\(directory)/\(name)", 0o644)
        }
        return directory
    }
}

/// True once `pid` is gone: no such process (ESRCH), or only its zombie,
/// left for its reaper (init, for an orphan, which is slow in some
/// containers: here about 2 s).
func isGone(_ pid: pid_t) -> Bool {
    if kill(pid, 0) == -1 && errno == ESRCH { return true }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let name = stat.lastIndex(of: ")"), stat.distance(from: name, to: stat.endIndex) > 2 else { return true }
    return stat[stat.index(name, offsetBy: 2)] == "Z"
}

/// Polls isGone for at most `seconds`: a bound on waiting for the end of a
/// process, never a way to wait for one.
func gone(_ pid: pid_t, within seconds: Int) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if isGone(pid) { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return isGone(pid)
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Runs `body`, or throws TimedOut once `seconds` have passed: a bound on
/// waiting for a state change, never a way to wait for one.
func within<T: Sendable>(_ seconds: Int, waitingFor what: String,
                         _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(description: "no \(what) within \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// The state changes (of `instance`, or of any instance) up to and including
/// the first one in `state`.
func changes(_ stream: AsyncStream<InstanceStatus>, until state: InstanceStatus.State,
             of instance: String? = nil) async -> [InstanceStatus] {
    var seen: [InstanceStatus] = []
    for await change in stream where instance == nil || change.name == instance {
        seen.append(change)
        if change.state == state { break }
    }
    return seen
}
