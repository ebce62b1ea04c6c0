import Foundation

/// A devsim process serving `devices` in a fresh runtime directory, up once
/// it has printed "ready" (every socket listens); SIGTERM on stop().
public final class DevSimProcess {
    public let directory: String
    private let process = Process()
    private let output = Pipe()

    public struct Died: Error { public let output: String }

    public init(_ devices: [String] = ["edu0=edu"]) throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("devsim-test-\(getpid())-\(UUID().uuidString.prefix(8))").path
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary("devsim"))
        process.arguments = devices.flatMap { ["--device", $0] } + ["--runtime-dir", directory]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while !seen.hasSuffix("ready\n") {
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw Died(output: seen) }
            seen += String(decoding: chunk, as: UTF8.self)
        }
    }

    /// devsim's exit status after SIGTERM (0: it stopped cleanly).
    public func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { _ = stop() }
    }
}
