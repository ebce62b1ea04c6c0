import DrvHostProtocol
import Testing

/// Every message both ways survives its own encoder and parser, and lines
/// that are not exactly a message are refused whole.
@Suite struct MessageTests {
    static let event: TraceRecord = {
        var r = TraceRecord(kind: .event, timeNs: 12)
        r.seq = 3; r.vector = 1; r.flags = 0x10; r.snapshot = [0x1, 0xdeadbeef]
        return r
    }()
    static let write: TraceRecord = {
        var r = TraceRecord(kind: .write, timeNs: 5)
        r.bar = 2; r.offset = 0x64; r.width = 4; r.value = 0xffff_ffff
        return r
    }()
    static let callback: TraceRecord = {
        var r = TraceRecord(kind: .callback, timeNs: 99)
        r.callback = "interrupt"; r.durationNs = 1500
        return r
    }()

    static let fromDriverhost: [DriverhostMessage] = [
        .device(ClassDevice(kind: "block", name: "ublkb0")),
        .queues(kind: "net", fds: [7, 12]),
        .attached(restartCount: 4_000_000_000),
        .pong(UInt64.max),
        .failed("attach: no answer\nfrom 100% of the device"),
        .result(id: "7 8", text: "{\"value\": 1}"),
        .result(id: "", text: ""),
        .error(id: "x", message: "unknown command \"nope\""),
        .counters(kind: "net", [ClassCounter(name: "rx_frames", value: 12), ClassCounter(name: "carrier", value: 1)]),
        .trace(dropped: 2, records: [event, write, callback]),
        .trace(dropped: 0, records: []),
        .durations(CallbackDurations(callback: "timer", count: 3, sumNs: 900,
                                     buckets: [.init(leNs: 100, count: 1), .init(leNs: 1000, count: 3)])),
        .exit(42),
    ]

    static let fromSupervisor: [SupervisorMessage] = [
        .start(restartCount: 0, classDevice: nil),
        .start(restartCount: 3, classDevice: ClassDevice(kind: "net", name: "dh-edu-p0s5")),
        .start(restartCount: 4, classDevice: ClassDevice(kind: "net", name: "dh-edu-p0s5"), carrierGraceMs: 0),
        .start(restartCount: 4, classDevice: ClassDevice(kind: "net", name: "dh-edu-p0s5"), carrierGraceMs: 873),
        .stop,
        .ping(17),
        .call(id: "1", command: "factorial", arguments: ["10", "a b", "100%", ""]),
        .call(id: "2", command: "status", arguments: []),
        .trace(true),
        .trace(false),
        .adopt,
    ]

    @Test(arguments: fromDriverhost)
    func aDriverhostMessageRoundTrips(_ message: DriverhostMessage) {
        #expect(!message.line.contains("\n"))
        #expect(DriverhostMessage(line: message.line) == message)
    }

    @Test(arguments: fromSupervisor)
    func aSupervisorMessageRoundTrips(_ message: SupervisorMessage) {
        #expect(!message.line.contains("\n"))
        #expect(SupervisorMessage.parse(message.line) == .message(message))
    }

    @Test(arguments: [
        "", "hello", "attached", "attached x", "attached -1", "attached 4294967296", "pong", "pong +5", "pong 1 2",
        "failed", "failed bad%2", "result 7", "result 7 bad%2", "result 7 a b", "error 7",
        "device block", "device block a%20b", "device block bad%2", "device  x",
        "counters net", "counters net rx_frames=-1", "counters net rx_frames=1  carrier=1", "counters net Rx=1",
        "counters net rx_frames", "counters net rx=1e3",
        "trace", "trace x", "trace 1 q,1", "trace 1 r,1,7,0,4,0", "trace 1 r,1,0,0,3,0", "trace 1 e,1,1,1",
        "trace 1 c,1,reboot,5", "trace 1  r,1,0,0,4,0",
        "durations command 1 5 10:2", "durations command 3 5 10:2,5:3", "durations reboot 1 5 10:1", "durations command 1 5",
        "exit", "exit x", "exit 99999999999",
        "queues", "queues net", "queues net ", "queues net 1,,2", "queues net -1", "queues net 1 2", "queues net 1,",
        "queues net 4294967296", "queues  3",
    ])
    func aMalformedDriverhostLineIsRefused(_ line: String) {
        #expect(DriverhostMessage(line: line) == nil, "\(line)")
    }

    @Test func tooManyCountersAreRefused() {
        let many = (0...ClassCounter.maxCount).map { "c\($0)=1" }.joined(separator: " ")
        #expect(DriverhostMessage(line: "counters net \(many)") == nil)
        let enough = (1...ClassCounter.maxCount).map { "c\($0)=1" }.joined(separator: " ")
        #expect(DriverhostMessage(line: "counters net \(enough)") != nil)
    }

    @Test(arguments: ["", "stop now", "ping", "ping x", "ping -1", "ping 1 2", "trace", "trace maybe",
                      "start", "start x", "start 1 net", "start 1 net bad%2", "start 1 net x -5", "start 1 net x 1.5",
                      "start 1 net x 4294967296", "start 1 net x 5 6", "adopt me", "call", "call bad%2 x"])
    func aMalformedSupervisorLineIsIgnored(_ line: String) {
        #expect(SupervisorMessage.parse(line) == .unknown, "\(line)")
    }

    @Test func aCallWithAReadableIdIsAnsweredWithWhyItIsMalformed() {
        #expect(SupervisorMessage.parse("call 7") == .malformedCall(id: "7", why: "malformed call: no command name"))
        #expect(SupervisorMessage.parse("call 7 f%zz") == .malformedCall(id: "7", why: "malformed call: no command name"))
        #expect(SupervisorMessage.parse("call 7 f ok bad%2") == .malformedCall(id: "7", why: "malformed call: bad escape in \"bad%2\""))
    }

    @Test func aTraceLineGrowsRecordByRecord() {
        var line = TraceLine(dropped: 5)
        #expect(line.line == "trace 5" && line.count == 0)
        line.append(Self.write)
        #expect(line.line == "trace 5 w,5,2,64,4,ffffffff")
        #expect(line.byteCount == line.line.utf8.count && line.count == 1)
        #expect(DriverhostMessage.trace(dropped: 5, records: [Self.write]).line == line.line)
    }

    @Test func escapingKeepsFramingAndReadableText() {
        #expect(LineEscaping.escape("a b\n100%") == "a%20b%0A100%25")
        #expect(LineEscaping.unescape("a%20b%0A100%25") == "a b\n100%")
        #expect(LineEscaping.escape("café") == "café")
        #expect(LineEscaping.unescape("%G0") == nil)
    }
}

extension DriverhostMessage: CustomTestStringConvertible {
    public var testDescription: String { line }
}

extension SupervisorMessage: CustomTestStringConvertible {
    public var testDescription: String { line }
}
