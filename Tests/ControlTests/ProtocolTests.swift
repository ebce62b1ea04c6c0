import DrvHostControl
import Foundation
import Testing
import DrvHostProtocol

@Suite struct ProtocolTests {
    static let commands: [ControlCommand] = [
        .load(plugin: "edu.so", device: "0000:00:05.0"), .load(plugin: "edu", device: nil),
        .unload(target: "edu"), .plugins, .devices, .instances,
        .status(instance: "edu@0000:00:05.0"), .restart(instance: "edu@0000:00:05.0"),
        .call(instance: "edu@0000:00:05.0", command: "factorial", arguments: ["10"]),
        .trace(instance: "edu@0000:00:05.0"),
    ]

    @Test(arguments: commands)
    func requestsSurviveTheWire(_ command: ControlCommand) throws {
        let line = WireCodec.encodeRequest(ControlRequest(id: 7, command: command))
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(!line.dropLast().contains(UInt8(ascii: "\n")))
        #expect(try WireCodec.decodeRequest(line.dropLast()) == ControlRequest(id: 7, command: command))
    }

    @Test func theDocumentedLoadRequestReads() throws {
        let request = try WireCodec.decodeRequest(
            Array(#"{"id":1,"op":"load","plugin":"edu.so","device":"0000:00:05.0"}"#.utf8))
        #expect(request == ControlRequest(id: 1, command: .load(plugin: "edu.so", device: "0000:00:05.0")))
    }

    @Test(arguments: [
        ("", nil, "not a JSON object"),
        ("garbage{", nil, "not a JSON object"),
        ("[1,2]", nil, "the request must be an object"),
        (#"{"op":"list"}"#, nil, "missing \"id\""),
        (#"{"id":"one","op":"list"}"#, nil, "\"id\" must be an integer"),
        (#"{"id":3}"#, 3, "missing \"op\""),
        (#"{"id":3,"op":"fly"}"#, 3, "unknown op \"fly\""),
        (#"{"id":4,"op":"load"}"#, 4, "\"load\" needs a non-empty \"plugin\""),
        (#"{"id":4,"op":"status","instance":""}"#, 4, "\"status\" needs a non-empty \"instance\""),
        (#"{"id":5,"op":"call","instance":"a@b","command":"c","args":[1]}"#, 5, "\"args.0\" must be a string"),
        (#"{"id":6,"op":"unload","target":7}"#, 6, "\"target\" must be a string"),
    ] as [(String, Int?, String)])
    func malformedRequestsAreRejectedWithTheirId(_ line: String, _ id: Int?, _ message: String) {
        #expect(throws: WireCodec.Rejection(id: id, error: ControlError(.badRequest, message))) {
            try WireCodec.decodeRequest(Array(line.utf8))
        }
    }

    @Test func answersHaveTheDocumentedShape() throws {
        let success = try JSONSerialization.jsonObject(with: Data(WireCodec.encodeSuccess(id: 2, "120"))) as? NSDictionary
        #expect(success == ["id": 2, "ok": true, "result": "120"])
        let failure = try JSONSerialization.jsonObject(
            with: Data(WireCodec.encodeFailure(id: 3, ControlError(.notFound, "no instance x")))) as? NSDictionary
        #expect(failure == ["id": 3, "ok": false, "error": ["code": "notFound", "message": "no instance x"]])
    }
}

@Suite struct AccessTests {
    let policy = AccessPolicy(adminGroup: 4242)

    @Test func rootAndGroupMembersMayChange() {
        #expect(policy.mayChange(credentials(uid: 0, gid: 0)))
        #expect(policy.mayChange(credentials(uid: 1000, gid: 4242)))
        #expect(policy.mayChange(credentials(uid: 1000, gid: 100, groups: [27, 4242])))
        #expect(!policy.mayChange(credentials(uid: 1000, gid: 100, groups: [27])))
    }

    @Test func withoutTheGroupOnlyRootMayChange() {
        let rootOnly = AccessPolicy(adminGroup: nil)
        #expect(rootOnly.mayChange(credentials(uid: 0, gid: 0)))
        #expect(!rootOnly.mayChange(credentials(uid: 1000, gid: 0, groups: [0])))
        #expect(AccessPolicy(adminGroupNamed: "no-such-group-drvhost-test") == rootOnly)
        #expect(AccessPolicy(adminGroupNamed: "root") == AccessPolicy(adminGroup: 0))
    }

    @Test func peerGroupsComeFromTheProcess() {
        let count = getgroups(0, nil)
        var own = [gid_t](repeating: 0, count: Int(count))
        _ = getgroups(count, &own)
        let peer = PeerCredentials(pid: getpid(), uid: getuid(), gid: getgid())
        #expect(Set(peer.supplementaryGroups) == Set(own))
    }

    @Test func changingRequestsFromOutsidersChangeNothing() async throws {
        let supervisor = FakeSupervisor()
        let handler = RequestHandler(supervisor: supervisor, policy: policy)
        let outsider = credentials(uid: 1000, gid: 100)
        for command in ProtocolTests.commands {
            let line = WireCodec.encodeRequest(ControlRequest(id: 1, command: command)).dropLast()
            let answer = try WireCodec.decodeResponse(await handler.answer(line, from: outsider).dropLast(),
                                                      as: NoResult.self)
            #expect(answer.ok == !command.changesState, "\(command.op)")
            if command.changesState {
                #expect(answer.error?.code == .permissionDenied)
            }
        }
        #expect(await supervisor.changes.isEmpty)
    }

    @Test func membersGetTheSupervisorsAnswer() async throws {
        let supervisor = FakeSupervisor()
        let handler = RequestHandler(supervisor: supervisor, policy: policy)
        let member = credentials(uid: 1000, gid: 100, groups: [4242])
        let line = WireCodec.encodeRequest(ControlRequest(
            id: 9, command: .call(instance: "edu@0000:00:05.0", command: "factorial", arguments: ["10"])))
        let answer = try WireCodec.decodeResponse(await handler.answer(line.dropLast(), from: member).dropLast(),
                                                  as: String.self)
        #expect(answer.id == 9 && answer.ok && answer.result == "3628800")
        let wrong = WireCodec.encodeRequest(ControlRequest(
            id: 10, command: .call(instance: "edu@0000:00:05.0", command: "factorial", arguments: ["1", "2"])))
        let refusal = try WireCodec.decodeResponse(await handler.answer(wrong.dropLast(), from: member).dropLast(),
                                                   as: String.self)
        #expect(refusal.id == 10 && !refusal.ok && refusal.error?.code == .badRequest)
        #expect(await supervisor.changes == ["call factorial 10"])
    }

    /// A stream (trace, logs, watch) is encoded as the connection reads it:
    /// nothing between the supervisor's bounded stream and the socket
    /// buffers what a slow client has not read, so the supervisor sees its
    /// own buffer fill (and counts what it drops).
    @Test func aStreamIsPulledAsTheClientReads() async throws {
        let supervisor = FakeSupervisor()
        let handler = RequestHandler(supervisor: supervisor, policy: policy)
        let member = credentials(uid: 1000, gid: 100, groups: [4242])
        let line = WireCodec.encodeRequest(ControlRequest(id: 3, command: .trace(instance: "flood"))).dropLast()
        guard case .stream(let answers) = await handler.reply(line, from: member) else {
            Issue.record("trace did not stream")
            return
        }
        let flood = try #require(await supervisor.flood)
        var results: [Bool] = []
        for i in 0..<10 {
            let batch = TraceBatch(records: [TraceRecord(kind: .read, timeNs: UInt64(i))], droppedInDriverhost: 0, droppedInHostd: 0)
            if case .dropped = flood.yield(batch) { results.append(true) } else { results.append(false) }
        }
        // Four fit; the rest push the oldest out, unread.
        #expect(results == Array(repeating: false, count: 4) + Array(repeating: true, count: 6))
        flood.finish()
        var times: [UInt64] = []
        for await answer in answers {
            let batch = try WireCodec.decodeResponse(answer.dropLast(), as: TraceBatch.self)
            times += batch.result?.records.map(\.timeNs) ?? []
        }
        #expect(times == [6, 7, 8, 9])
    }
}
