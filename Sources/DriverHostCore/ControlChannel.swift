import Glibc

/// The supervisor's end of a socketpair, passed as --control-fd. Minimal
/// line protocol for now (hostd, issue 4, will extend it):
///
///   driverhost -> supervisor:  "attached <restart-count>\n" once attach succeeded
///   supervisor -> driverhost:  "stop\n"   detach and exit 0, like SIGTERM
///   end of file                the supervisor is gone: detach and exit 0
///
/// Unknown lines are ignored so that either side can grow first.
final class ControlChannel {
    enum Message { case stop, closed, none }

    private let descriptor: Descriptor
    private var pending: [UInt8] = []
    private let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 8)

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

    func receive() -> Message {
        let n: Int?
        do {
            n = try descriptor.read(into: chunk)
        } catch {
            return .closed
        }
        guard let n else { return .none }
        if n == 0 { return .closed }
        pending += chunk[..<n]
        var message = Message.none
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: pending[..<newline], as: UTF8.self)
            pending.removeSubrange(...newline)
            if line == "stop" { message = .stop }
        }
        return message
    }
}
