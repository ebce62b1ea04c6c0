import Foundation
import TestSupport

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion with extra environment.
func run(_ program: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        .merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both to the end before waiting: a full pipe would block the child.
    nonisolated(unsafe) var stderr = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        stderr = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
               stderr: String(decoding: stderr, as: UTF8.self))
}

/// devsim for these tests: the shared process plus what the tests ask of it.
final class DevSim {
    private let process: DevSimProcess
    var directory: String { process.directory }

    init(_ devices: [String] = ["edu0=edu"]) throws {
        process = try DevSimProcess(devices)
    }

    var environment: [String: String] { ["DRVHOST_SIM_DIR": directory] }

    func driverhost(_ arguments: [String]) throws -> Run {
        try run(RepoPaths.binary("driverhost"), arguments, environment: environment)
    }

    /// `devsim inject-error NAME`: an AER error for the device's owner.
    func injectError(_ name: String = "edu0", _ state: [String] = []) throws -> Run {
        try run(RepoPaths.binary("devsim"), ["inject-error", name] + state + ["--runtime-dir", directory])
    }

    /// `devsim status NAME` as a dictionary of counters.
    func status(_ name: String = "edu0") throws -> [String: Int] {
        let result = try run(RepoPaths.binary("devsim"), ["status", name, "--runtime-dir", directory])
        var counters: [String: Int] = [:]
        for line in result.stdout.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Int(parts[1]) { counters[String(parts[0])] = value }
        }
        return counters
    }

    func stop() -> Int32 { process.stop() }
}

/// A driverhost running its loop on a device, up once it logged "attached".
final class AttachedDriverhost {
    let process = Process()
    private let errors = Pipe()
    /// stderr up to the "attached" line.
    private(set) var log = ""

    init(device: String, plugin: String, environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary("driverhost"))
        process.arguments = ["--device", device, "--plugin", plugin]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        while !log.contains("attached") {
            let chunk = errors.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            log += String(decoding: chunk, as: UTF8.self)
        }
    }

    /// Waits for the process to end by itself: its exit status and all it
    /// wrote to stderr.
    func exit() -> (status: Int32, stderr: String) {
        let rest = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, log + String(decoding: rest, as: UTF8.self))
    }

    /// SIGKILL, then wait: the process and its descriptors are gone after this.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
