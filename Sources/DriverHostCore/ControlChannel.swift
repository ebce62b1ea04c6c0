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
///                              "error <id> <message>"        a call that failed
///   supervisor -> driverhost:  "stop"                        detach and exit 0, like SIGTERM
///                              "ping <n>"                    answered at once by the loop
///                              "call <id> <command> <arg>..." run a plugin command
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
        case closed
    }

    private let descriptor: Descriptor
    private var pending: [UInt8] = []
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
        try? descriptor.write(line + "\n")
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
            return nil
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
