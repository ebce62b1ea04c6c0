import DrvHostControl
import DrvHostControlServer
import Foundation
import Logging
import ServiceLifecycle
import Testing
import DrvHostSystem

@Suite struct ServerTests {
    @Test func answersInOrderOnOneConnection() async throws {
        try await withServer { path in
            try await onThread {
                let client = try ControlClient(socketPath: path)
                #expect(try client.devices() == [FakeSupervisor.nic, FakeSupervisor.edu])
                #expect(try client.plugins() == FakeSupervisor.plugins)
                #expect(try client.status("edu@0000:00:05.0") == FakeSupervisor.running)
                #expect(try client.call("edu@0000:00:05.0", command: "factorial", arguments: ["10"]) == "3628800")
                #expect(throws: ControlClientError.refused(ControlError(.notFound, "no instance nope@x"))) {
                    try client.status("nope@x")
                }
            }
        }
    }

    @Test func servesManyClientsAtOnce() async throws {
        let supervisor = FakeSupervisor()
        try await withServer(supervisor) { path in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<40 {
                    group.addTask {
                        try await onThread {
                            let connection = try ControlClient(socketPath: path)
                            for round in 0..<5 {
                                let n = (client + round) % 20
                                #expect(try connection.call("edu@0000:00:05.0", command: "factorial",
                                                            arguments: [String(n)])
                                        == String((1...max(n, 1)).reduce(1, *)))
                                #expect(try connection.instances() == [FakeSupervisor.running])
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(await supervisor.changes.count == 200)
    }

    @Test func garbageGetsAnErrorAndTheConnectionGoesOn() async throws {
        try await withServer { path in
            try await onThread {
                let socket = try UnixStreamSocket(connectingTo: path, timeout: 10)
                let garbage = try exchange(socket, "\u{1}\u{2}not json at all {{{")
                #expect(garbage?.ok == false && garbage?.id == nil && garbage?.error?.code == .badRequest)
                let unknown = try exchange(socket, #"{"id":12,"op":"format-disk"}"#)
                #expect(unknown?.id == 12 && unknown?.error == ControlError(.badRequest, "unknown op \"format-disk\""))
                // Bytes that are not UTF-8 inside a string.
                try socket.send([UInt8](#"{"id":13,"op":"status","instance":""#.utf8) + [0xff, 0xfe]
                                + Array("\"}\n".utf8))
                let invalid = try WireCodec.decodeResponse(try socket.receiveLine() ?? [], as: NoResult.self)
                #expect(invalid.ok == false && invalid.error?.code == .badRequest)
                let fine = try exchange(socket, #"{"id":14,"op":"instances"}"#, as: [InstanceStatus].self)
                #expect(fine?.id == 14 && fine?.result == [FakeSupervisor.running])
            }
        }
    }

    @Test func anOversizedLineIsAnsweredThenDisconnected() async throws {
        try await withServer(configure: { $0.maximumLineLength = 1024 }) { path in
            try await onThread {
                let socket = try UnixStreamSocket(connectingTo: path, timeout: 10)
                // Exactly the limit is still a request.
                let padding = String(repeating: " ", count: 1024 - #"{"id":1,"op":"list"}"#.count)
                #expect(try exchange(socket, #"{"id":1,"op":"list"}"# + padding, as: [PluginRow].self)?.ok == true)
                // Far past it, with no newline ever.
                try socket.send([UInt8](repeating: UInt8(ascii: "x"), count: 100_000))
                let answer = try WireCodec.decodeResponse(try socket.receiveLine() ?? [], as: NoResult.self)
                #expect(answer.error == ControlError(.badRequest, "request longer than 1024 bytes"))
                #expect(try socket.receiveLine() == nil)
                // The server itself goes on.
                #expect(try ControlClient(socketPath: path).devices().count == 2)
            }
        }
    }

    @Test func aClientThatLeavesMidRequestHurtsNobody() async throws {
        let supervisor = FakeSupervisor()
        try await withServer(supervisor) { path in
            try await onThread {
                for _ in 0..<20 {
                    let socket = try UnixStreamSocket(connectingTo: path, timeout: 10)
                    try socket.send(Array(#"{"id":1,"op":"load","plugin":"edu.so""#.utf8))
                    socket.shutdownSending()
                    #expect(try socket.receiveLine() == nil)
                }
                #expect(try ControlClient(socketPath: path).instances() == [FakeSupervisor.running])
            }
        }
        #expect(await supervisor.changes.isEmpty)
    }

    @Test func aClientThatNeverReadsStallsOnlyItselfAndIsClosedWhenIdle() async throws {
        // The send timeout (1 s) tells that the server stopped reading; the
        // idle timeout is well above it so the close comes after.
        try await withServer(configure: { $0.idleTimeout = .seconds(4) }) { path in
            try await onThread {
                // Pipeline requests without reading until the server stops
                // reading them (backpressure): send() then times out.
                let stubborn = try UnixStreamSocket(connectingTo: path, timeout: 1)
                let request = Array(#"{"id":1,"op":"devices"}"#.utf8) + [UInt8(ascii: "\n")]
                var sent = 0
                do throws(SystemCallError) {
                    while sent < 1_000_000 {
                        try stubborn.send(request)
                        sent += 1
                    }
                } catch {
                    #expect(error.code == EAGAIN)
                }
                #expect(sent < 1_000_000, "the server never stopped reading")
                // Others are served meanwhile.
                #expect(try ControlClient(socketPath: path).devices().count == 2)
                // Nothing moves on the stalled connection: after the idle
                // timeout the server closes it with requests unanswered.
                #expect(try stubborn.waitForHangUp(milliseconds: 20_000))
                var answers = 0
                do throws(SystemCallError) {
                    while try stubborn.receiveLine() != nil { answers += 1 }
                } catch {
                    #expect(error.code == ECONNRESET)
                }
                #expect(answers > 0 && answers < sent)
            }
        }
    }

    @Test func aStaleSocketIsReplaced() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        try bindAndAbandon(path)
        try await withServer(configure: { $0.socketPath = path }) { path in
            let count = try await onThread { try ControlClient(socketPath: path).devices().count }
            #expect(count == 2)
        }
    }

    @Test func aLiveSocketIsNotStolen() async throws {
        try await withServer { path in
            let second = ControlServer(configuration: testConfiguration(path), supervisor: FakeSupervisor(),
                                       logger: Logger(label: "second"))
            await #expect(throws: SocketFileError(description: "\(path) is in use: another hostd is answering on it")) {
                try await second.run()
            }
            let count = try await onThread { try ControlClient(socketPath: path).devices().count }
            #expect(count == 2)
        }
    }

    @Test func aFileThatIsNotASocketIsLeftAlone() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        let server = ControlServer(configuration: testConfiguration(path), supervisor: FakeSupervisor(),
                                   logger: Logger(label: "test"))
        await #expect(throws: SocketFileError.self) { try await server.run() }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test func theSocketBelongsToTheGroupWithMode0660() async throws {
        try await withServer(configure: { $0.group = "nogroup" }) { path in
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o660)
            #expect(info.st_gid == 65534)
        }
    }

    @Test func withoutTheGroupTheSocketIsRootOnly() async throws {
        try await withServer(configure: { $0.group = "no-such-group-drvhost-test" }) { path in
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
        }
    }

    @Test func theDirectoryIsCreated() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await withServer(configure: { $0.socketPath = directory + "/run/drvhost/control.sock" }) { path in
            let count = try await onThread { try ControlClient(socketPath: path).devices().count }
            #expect(count == 2)
        }
    }

    @Test func gracefulShutdownClosesConnectionsAndRemovesTheSocket() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/control.sock"
        let server = ControlServer(configuration: testConfiguration(path), supervisor: FakeSupervisor(),
                                   logger: Logger(label: "test"))
        let group = ServiceGroup(configuration: .init(services: [server], logger: Logger(label: "test")))
        let running = Task { try await group.run() }
        try await server.waitUntilListening()
        // A client that was served and then went idle must not hold
        // shutdown up.
        let idle = try await onThread {
            let socket = try UnixStreamSocket(connectingTo: path, timeout: 10)
            #expect(try exchange(socket, #"{"id":1,"op":"instances"}"#, as: [InstanceStatus].self)?.ok == true)
            return Unshared(socket)
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try await onThread { try idle.value.receiveLine() } == nil)
    }
}

/// Leaves a socket file behind with nobody listening, as a killed hostd does.
func bindAndAbandon(_ path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    try #require(result == 0)
}

/// Hands a value to one other thread at a time (tests only).
struct Unshared<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
