import Foundation

/// Where the tests find what `make plugins` and `swift build` made, from
/// this file's place in the repository (Tests/TestSupport/).
public enum RepoPaths {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func inRoot(_ path: String) -> String { root.appendingPathComponent(path).path }

    /// An executable of this package, from the debug build `swift test` made.
    public static func binary(_ name: String) -> String { inRoot(".build/debug/\(name)") }

    /// A file a build step outside SwiftPM makes; stops with what to run if it is missing.
    public static func builtFile(_ path: String) -> String {
        let full = inRoot(path)
        precondition(FileManager.default.fileExists(atPath: full),
                     "\(full) is missing: run `make plugins` before `swift test`")
        return full
    }

    /// A plugin from Tests/Plugins (misbehaving ones, descriptor variants).
    public static func testPlugin(_ name: String) -> String { builtFile("build/test-plugins/\(name).so") }
}
