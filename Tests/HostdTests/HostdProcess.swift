import DrvHostControl
import Foundation
import Glibc
import TestSupport

/// hostd as a process of its own (the real binary), so that a test can kill
/// it with SIGKILL as a crash would and start another on the same
/// directories: simulated devices only (devsim), a plugin directory, state,
/// intent and socket in one temporary directory.
final class HostdProcess: @unchecked Sendable {
    let process = Process()
    let client: @Sendable () throws -> ControlClient
    let logPath: String

    struct Paths {
        let root: String
        var plugins: String { root + "/plugins" }
        var state: String { root + "/state" }
        var intent: String { root + "/intent" }
        var socket: String { root + "/control.sock" }
        var log: String { root + "/hostd.log" }

        /// A fresh directory with the given plugins (name: path) in it.
        static func make(plugins: [String: String]) throws -> Paths {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("hostd-restart-\(UUID().uuidString.prefix(8))").path
            let paths = Paths(root: root)
            try FileManager.default.createDirectory(atPath: paths.plugins, withIntermediateDirectories: true)
            for (name, source) in plugins {
                try FileManager.default.copyItem(atPath: source, toPath: "\(paths.plugins)/\(name)")
                chmod("\(paths.plugins)/\(name)", 0o644)
            }
            return paths
        }
    }

    /// Starts hostd with autoload on every simulated device of `devsim`;
    /// its log is appended to paths.log.
    init(_ paths: Paths, devsim: DevSimProcess) throws {
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary("hostd"))
        process.arguments = ["--plugin-dir", paths.plugins, "--socket", paths.socket,
                             "--state-dir", paths.state, "--intent-dir", paths.intent,
                             "--driverhost", RepoPaths.binary("driverhost"), "--sim-dir", devsim.directory,
                             "--no-pci", "--autoload", "--log-level", "debug"]
        if !FileManager.default.fileExists(atPath: paths.log) {
            _ = FileManager.default.createFile(atPath: paths.log, contents: nil)
        }
        logPath = paths.log
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: paths.log))
        log.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        let socket = paths.socket
        client = { try ControlClient(socketPath: socket) }
    }

    var pid: Int32 { process.processIdentifier }

    /// The instances once `count` of them are running (polled: another
    /// process's state has no event to wait for here), or TimedOut.
    func running(_ count: Int, within seconds: Int) async throws -> [InstanceStatus] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var last: [InstanceStatus] = []
        while ContinuousClock.now < deadline {
            if let seen = try? client().instances() {
                last = seen
                if seen.filter({ $0.state == .running }).count == count { return seen }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TimedOut(description: "not \(count) running instances within \(seconds) s: \(last.map { "\($0.name) \($0.state)" })")
    }

    func call(_ instance: String, _ command: String, _ arguments: String...) throws -> UInt64 {
        let text = try client().call(instance, command: command, arguments: arguments)
        guard let value = UInt64(text) else { throw TimedOut(description: "\(command) answered \(text)") }
        return value
    }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM: hostd unloads every instance; its exit status (-signal if
    /// it died of one, its log's tail printed to say why).
    func terminate() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        guard process.terminationReason == .uncaughtSignal else { return process.terminationStatus }
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        print("hostd died of signal \(process.terminationStatus); its log ends:\n" + log.split(separator: "\n").suffix(40).joined(separator: "\n"))
        return -process.terminationStatus
    }
}
