import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// The supervisor's end of a socketpair, passed as --control-fd. The
/// messages both ways, their framing and escaping are DrvHostProtocol's
/// (SupervisorMessage in, DriverhostMessage out). End of file: the
/// supervisor is gone: detach and exit 0, or, with a listener
/// (--listen-fd), run on and wait for the next supervisor to connect.
///
/// Re-adoption: a supervisor may die and a new one take over (hostd's
/// restart). The new one connects to the listener hostd handed over; the
/// peer must run as root or as driverhost's own user. Its first message may
/// carry a descriptor (SCM_RIGHTS): the write end of its log pipe, which
/// becomes stderr. driverhost then says "device" and "attached" again, as
/// after its attach, so that the new supervisor learns the instance's state.
///
/// Nothing here blocks or raises SIGPIPE: lines go out without waiting; what
/// a slow or absent supervisor has not taken waits in a bounded buffer, and
/// lines beyond it are dropped and counted (the heartbeat that cannot be
/// answered is what tells the supervisor).
///
/// (A --standby driverhost first waits for "start <restart-count>"; that
/// line is read by Standby, before the device is open and this channel is
/// read here.)
///
/// Calls are queued here and run by the loop between events (EventLoop), so
/// reading the channel never runs plugin code. Unknown lines are ignored so
/// that either side can grow first.
public final class ControlChannel {
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

    /// The connection to the current supervisor; nil while there is none.
    private var connection: Descriptor?
    /// Where the next supervisor connects (--listen-fd); nil: none will.
    let listener: Descriptor?
    private var pending: [UInt8] = []
    private var outgoing: [UInt8] = []
    /// Runs after each pong (the loop sends its callback durations then).
    var afterPong: (() -> Void)?
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
    /// A line longer than this is a broken supervisor: drop it.
    static let maxLine = 64 * 1024
    /// What may wait for a supervisor that does not read.
    static let maxOutgoing = 256 * 1024
    /// Lines dropped because the supervisor was gone or did not read.
    private(set) var droppedLines: UInt64 = 0

    public init(_ connection: Descriptor, listener: Descriptor? = nil) {
        self.connection = connection
        self.listener = listener
    }

    deinit {
        chunk.deallocate()
    }

    /// The connection's descriptor, -1 while there is none.
    var descriptorNumber: Int32 { connection?.raw ?? -1 }

    /// True if a new supervisor can connect after this one is gone.
    var acceptsSupervisors: Bool { listener != nil }

    func send(_ message: DriverhostMessage) {
        send(message.line)
    }

    func send(_ line: String) {
        guard connection != nil else {
            droppedLines += 1
            return
        }
        let bytes = line.utf8.count + 1
        guard outgoing.count + bytes <= ControlChannel.maxOutgoing else {
            droppedLines += 1
            return
        }
        outgoing += line.utf8
        outgoing.append(UInt8(ascii: "\n"))
        flush()
    }

    /// Sends what is waiting, as far as the socket takes it now.
    func flush() {
        guard let connection, !outgoing.isEmpty else { return }
        var sent = 0
        while sent < outgoing.count {
            let n = outgoing.withUnsafeBytes { cdh_send_nowait(connection.raw, $0.baseAddress! + sent, $0.count - sent) }
            if n > 0 {
                sent += n
                continue
            }
            if n != -Int(EAGAIN) {
                // Gone: its end of file follows on the read side.
                droppedLines += 1
                sent = outgoing.count
            }
            break
        }
        outgoing.removeFirst(sent)
    }

    /// What droppable traffic (the trace) may leave unread by the
    /// supervisor: the rest of the room stays for answers and pongs.
    static let maxUnreadWithoutBlocking = 64 * 1024

    /// Whether droppable traffic may go now: nothing else waits to be sent
    /// and the supervisor has read all but a little. Ask before taking it.
    var hasRoomWithoutBlocking: Bool {
        guard let connection else { return false }
        flush()
        guard outgoing.isEmpty else { return false }
        let unread = cdh_socket_unread(connection.raw)
        return unread >= 0 && unread < ControlChannel.maxUnreadWithoutBlocking
    }

    /// Sends a line of droppable traffic (after hasRoomWithoutBlocking).
    func sendWithoutBlocking(_ line: String) {
        send(line)
    }

    func answer(_ id: String, result: String) {
        send(DriverhostMessage.result(id: id, text: result))
    }

    func answer(_ id: String, error: String) {
        send(DriverhostMessage.error(id: id, message: error))
    }

    /// Everything complete that has arrived; empty if nothing new was whole.
    /// At the end of file the connection is closed (the caller has stopped
    /// watching it).
    func receive() -> [Message] {
        guard let connection else { return [] }
        var received: Int32 = -1
        let n = cdh_recv_with_fd(connection.raw, chunk.baseAddress, chunk.count, &received)
        if received >= 0 {
            // The new supervisor's log pipe; a failure leaves the old stderr.
            _ = cdh_replace_stderr(received)
        }
        if n == -Int(EAGAIN) { return [] }
        guard n > 0 else { return [.closed] }
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

    /// Forgets the connection (after its end of file).
    func disconnect() {
        connection?.close()
        connection = nil
        pending.removeAll()
        outgoing.removeAll()
    }

    /// Takes the next supervisor from the listener, in place of the current
    /// connection (if any: a supervisor that connects anew has given up the
    /// old one). Returns its descriptor, or nil (nobody, or not trusted).
    func acceptSupervisor() -> Int32? {
        guard let listener else { return nil }
        var uid: uid_t = 0
        let fd = cdh_accept_trusted(listener.raw, &uid)
        guard fd >= 0 else { return nil }
        disconnect()
        connection = Descriptor(taking: fd)
        return fd
    }

    private func parse(_ line: String) -> Message? {
        switch SupervisorMessage.parse(line) {
        case .message(.stop): return .stop
        case .message(.ping(let n)):
            // Answered as soon as the loop reads it (between callbacks, in
            // nested waits too): a driverhost that does not is stuck.
            send(DriverhostMessage.pong(n))
            afterPong?()
            return nil
        case .message(.trace(let on)): return .trace(on)
        case .message(.call(let id, let command, let arguments)):
            return .call(CallRequest(id: id, command: command, arguments: arguments))
        case .malformedCall(let id, let why):
            answer(id, error: why)
            return nil
        case .message(.start), .message(.adopt), .unknown:
            // "start" is Standby's; "adopt" is the fd carrier of a new
            // supervisor, read for its descriptor only.
            return nil
        }
    }
}
