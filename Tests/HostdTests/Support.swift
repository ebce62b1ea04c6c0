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
