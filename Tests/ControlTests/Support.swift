import DrvHostControl
import DrvHostControlServer
import Foundation
import Logging
import TestSupport

/// A fresh directory that unprivileged test peers can enter.
func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/drvhost-control-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    chmod(path, 0o755)
    return path
}

func testConfiguration(_ socketPath: String) -> ControlServer.Configuration {
    var configuration = ControlServer.Configuration(socketPath: socketPath, group: "root")
    configuration.idleTimeout = .seconds(30)
    return configuration
}

/// Runs a ControlServer on a temporary socket for the duration of `body`.
func withServer(
    _ supervisor: FakeSupervisor = FakeSupervisor(),
    configure: (inout ControlServer.Configuration) -> Void = { _ in },
    _ body: (String) async throws -> Void
) async throws {
    let directory = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    var configuration = testConfiguration(directory + "/control.sock")
    configure(&configuration)
    let server = ControlServer(configuration: configuration, supervisor: supervisor,
                               logger: Logger(label: "test"))
    let running = Task { try await server.run() }
    do {
        try await server.waitUntilListening()
        try await body(configuration.socketPath)
    } catch {
        running.cancel()
        _ = try? await running.value
        throw error
    }
    running.cancel()
    try await running.value
}

/// Runs blocking client code on its own thread: the cooperative pool (two
/// threads here) must stay free for the server's connection tasks.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

struct Run: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs hostctl to completion; `prefix` runs it through another program
/// (setpriv, to drop privileges).
func runHostctl(_ arguments: [String], prefix: [String] = [], environment: [String: String] = [:]) async throws -> Run {
    try await onThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prefix.first ?? RepoPaths.binary("hostctl"))
        process.arguments = prefix.isEmpty ? arguments : Array(prefix.dropFirst()) + [RepoPaths.binary("hostctl")] + arguments
        process.environment = ["SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"]
            .merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus,
                   stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// Sends one raw line and returns the decoded answer.
func exchange<Result: Codable & Sendable>(
    _ socket: UnixStreamSocket, _ line: String, as: Result.Type = NoResult.self
) throws -> ControlResponse<Result>? {
    try socket.send(Array((line + "\n").utf8))
    guard let answer = try socket.receiveLine() else { return nil }
    return try WireCodec.decodeResponse(answer, as: Result.self)
}

func credentials(uid: uid_t, gid: gid_t, groups: [gid_t] = []) -> PeerCredentials {
    PeerCredentials(pid: 1, uid: uid, gid: gid, supplementaryGroups: groups)
}
