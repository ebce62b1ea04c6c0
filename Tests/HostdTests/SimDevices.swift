import Foundation
import Glibc

/// A devsim process serving simulated devices in a fresh runtime directory,
/// up once it has printed "ready" (every socket listens); SIGTERM on stop().
final class SimDevices {
    let directory: String
    private let process = Process()
    private let output = Pipe()

    struct DevSimDied: Error { let output: String }

    init(_ devices: [String]) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("hostd-devsim-\(getpid())-\(UUID().uuidString.prefix(8))").path
        process.executableURL = Paths.root.appendingPathComponent(".build/debug/devsim")
        process.arguments = devices.flatMap { ["--device", $0] } + ["--runtime-dir", directory]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while !seen.hasSuffix("ready\n") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw DevSimDied(output: seen) }
            seen += String(decoding: chunk, as: UTF8.self)
        }
    }

    /// devsim's exit status after SIGTERM (0: it stopped cleanly).
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { _ = stop() }
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
