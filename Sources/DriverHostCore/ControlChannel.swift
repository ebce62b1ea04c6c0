import CDrvHost
import Glibc

/// The supervisor's end of a socketpair, passed as --control-fd. One request
/// or notice per line, fields separated by single spaces; every field that
/// carries free text is escaped with LineEscaping, so neither spaces nor
/// newlines in arguments or results can break the framing.
///
///   driverhost -> supervisor:  "device <kind> <name>"        the class device it serves, before:
///                              "attached <restart-count>"   once attach succeeded and the loop's
///                                                            first round ran what was ready
///                              "counters <kind> <name>=<value> ..."  the class server's counters,
///                                                            after "attached" and whenever they changed
///                              "pong <n>"                    answers "ping <n>" (liveness)
///                              "failed <message>"            why it is about to exit with an error
///                              "result <id> <text>"          a call's result
///                              "trace <dropped> <record>..."  while tracing (Trace)
///                              "durations <callback> <count> <sum-ns> <le-ns>:<n>,..."
///                                                            sampled callback times (CallbackTiming),
///                                                            cumulative, after a pong when they changed
///                              "error <id> <message>"        a call that failed
///   supervisor -> driverhost:  "stop"                        detach and exit 0, like SIGTERM
///                              "ping <n>"                    answered at once by the loop
///                              "call <id> <command> <arg>..." run a plugin command
///                              "trace on" / "trace off"      start or stop tracing (hostctl trace)
///   end of file                the supervisor is gone: detach and exit 0
///
/// (A --standby driverhost first waits for "start <restart-count>"; that
/// line is read by Standby, before the device is open and this channel exists.)
///
/// Calls are queued here and run by the loop between events (EventLoop), so
/// reading the channel never runs plugin code. Unknown lines are ignored so
/// that either side can grow first.
final class ControlChannel {
    struct CallRequest: Equatable {
        var id: String
        var command: String
        var arguments: [String]
    }

    enum Message: Equatable {
        case stop
        case call(CallRequest)
        case trace(Bool)
        case closed
    }

    private let descriptor: Descriptor
    private var pending: [UInt8] = []
    /// The rest of a line that sendWithoutBlocking could send only in part:
    /// it goes out before anything else, so lines never interleave.
    private var unsent: [UInt8] = []
    /// Runs after each pong (the loop sends its callback durations then).
    var afterPong: (() -> Void)?
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    /// A line longer than this is a broken supervisor: drop it.
    static let maxLine = 64 * 1024

    init(_ descriptor: Descriptor) {
        self.descriptor = descriptor
    }

    deinit {
        chunk.deallocate()
    }

    var descriptorNumber: Int32 { descriptor.raw }

    func send(_ line: String) {
        if !unsent.isEmpty {
            try? descriptor.write(String(decoding: unsent, as: UTF8.self))
            unsent.removeAll()
        }
        try? descriptor.write(line + "\n")
    }

    /// Sends what is left of a partly sent line, without blocking; true once
    /// nothing is left.
    func flushUnsent() -> Bool {
        guard !unsent.isEmpty else { return true }
        let n = trySend(unsent[...])
        unsent.removeFirst(n)
        return unsent.isEmpty
    }

    /// What sendWithoutBlocking may leave unread by the supervisor: the
    /// rest of the socket's buffer stays free for answers and pongs, which
    /// are sent blocking (with a plugin's watchdog armed, in a nested wait).
    static let maxUnreadWithoutBlocking = 64 * 1024

    /// Whether a line may be sent without blocking now: nothing of an
    /// earlier one is waiting, and the supervisor has read all but a little.
    /// For traffic that may be dropped (the trace): ask before taking it.
    var hasRoomWithoutBlocking: Bool {
        guard flushUnsent() else { return false }
        let unread = cdh_socket_unread(descriptor.raw)
        return unread >= 0 && unread < ControlChannel.maxUnreadWithoutBlocking
    }

    /// Sends a line without blocking; what the socket does not take now is
    /// kept and goes out before anything else (flushUnsent, send). True if
    /// it all went.
    @discardableResult
    func sendWithoutBlocking(_ line: String) -> Bool {
        let bytes = Array((line + "\n").utf8)
        let n = trySend(bytes[...])
        if n < bytes.count { unsent += bytes[n...] }
        return n == bytes.count
    }

    private func trySend(_ bytes: ArraySlice<UInt8>) -> Int {
        while true {
            let n = bytes.withUnsafeBytes { Glibc.send(descriptor.raw, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if n >= 0 { return n }
            if errno != EINTR { return 0 }
        }
    }

    func answer(_ id: String, result: String) {
        send("result \(LineEscaping.escape(id)) \(LineEscaping.escape(result))")
    }

    func answer(_ id: String, error: String) {
        send("error \(LineEscaping.escape(id)) \(LineEscaping.escape(error))")
    }

    /// Everything complete that has arrived; empty if nothing new was whole.
    func receive() -> [Message] {
        let n: Int?
        do {
            n = try descriptor.read(into: chunk)
        } catch {
            return [.closed]
        }
        guard let n else { return [] }
        if n == 0 { return [.closed] }
        pending += chunk[..<n]
        var messages: [Message] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeSubrange(...newline)
            if let message = parse(line) { messages.append(message) }
        }
        if pending.count > ControlChannel.maxLine { pending.removeAll() }
        return messages
    }

    private func parse(_ line: String) -> Message? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        switch fields.first {
        case "stop"?:
            return .stop
        case "ping"? where fields.count == 2 && fields[1].count <= 20 && fields[1].allSatisfy(\.isNumber):
            // Answered as soon as the loop reads it (between callbacks, in
            // nested waits too): a driverhost that does not is stuck.
            send("pong \(fields[1])")
            afterPong?()
            return nil
        case "trace"? where fields.count == 2 && (fields[1] == "on" || fields[1] == "off"):
            return .trace(fields[1] == "on")
        case "call"?:
            guard fields.count >= 2, let id = LineEscaping.unescape(fields[1]) else { return nil }
            guard fields.count >= 3, let command = LineEscaping.unescape(fields[2]) else {
                answer(id, error: "malformed call: no command name")
                return nil
            }
            var arguments: [String] = []
            for field in fields.dropFirst(3) {
                guard let argument = LineEscaping.unescape(field) else {
                    answer(id, error: "malformed call: bad escape in \"\(field)\"")
                    return nil
                }
                arguments.append(argument)
            }
            return .call(CallRequest(id: id, command: command, arguments: arguments))
        default:
            return nil
        }
    }
}
