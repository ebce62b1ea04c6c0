import Foundation
import Glibc

/// Paths of the things the tests use, found from this file's location.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A test plugin from Tests/Plugins (built by `make plugins`).
    static func plugin(_ name: String) -> String {
        let path = root.appendingPathComponent("build/test-plugins/\(name).so").path
        precondition(FileManager.default.fileExists(atPath: path),
                     "\(path) is missing: run `make plugins` before `swift test`")
        return path
    }

    static var driverhost: String {
        root.appendingPathComponent(".build/debug/driverhost").path
    }

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
