import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// A warm standby: a driverhost that has loaded and validated its plugin,
/// but has not opened the device, waits here for the supervisor's "start".
/// Starting a process and loading a plugin are most of a restart's cost, so
/// a supervisor keeps one standby per instance and, after a crash and the
/// kernel's release, only has to say "start".
///
/// It reads SupervisorMessage's "start" (open the device and attach,
/// recovering the class device it names) and "stop" or end of file (exit 0,
/// device untouched).
///
/// The "start" line may carry descriptors (SCM_RIGHTS): the class device's
/// queues the supervisor keeps across crashes (a TAP interface's), to be
/// adopted instead of attached again.
///
/// A termination signal also ends the wait. The line is read a byte at a
/// time so that nothing after it (a "call" sent right behind the start) is
/// taken from the event loop's ControlChannel.
enum Standby {
    struct Start: Equatable {
        var restartCount: UInt32
        var classDevice: ClassDevice?
        /// Descriptors that came with the line (the class device's queues).
        var handed: [Int32] = []
        /// How much longer a handed-over interface keeps its carrier unless
        /// the plugin says the link is up (nil: the supervisor kept no carrier).
        var carrierGraceMs: UInt32? = nil
    }

    /// When the start came (monotonic ns), nil if this driverhost was no
    /// standby: a device class logs its recovery's timeline from there.
    nonisolated(unsafe) static var startedNs: UInt64?

    /// What to attach with, or nil: leave without starting.
    static func awaitStart(control: Int32, signals: Int32) throws(HostFailure) -> Start? {
        var line: [UInt8] = []
        var handed: [Int32] = []
        while true {
            var fds = [pollfd(fd: control, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            do {
                _ = try systemCall("poll") { poll(&fds, 2, -1) }
            } catch {
                throw HostFailure(.internalError, "\(error)")
            }
            if fds[1].revents != 0 { return nil }
            var byte: UInt8 = 0
            var came = [Int32](repeating: -1, count: 16)
            var count: Int32 = 0
            guard (try? systemCall("recvmsg") { cdh_recv_with_fds(control, &byte, 1, &came, 16, &count) }) == 1 else {
                handed.forEach { _ = close($0) }
                return nil
            }
            handed += came.prefix(Int(count))
            guard byte == UInt8(ascii: "\n") else {
                if line.count < ControlChannel.maxLine { line.append(byte) }
                continue
            }
            let parsed = SupervisorMessage.parse(String(decoding: line, as: UTF8.self))
            line.removeAll()
            switch parsed {
            case .message(.start(let restarts, let device, let grace)):
                startedNs = cdh_monotonic_ns()
                return Start(restartCount: restarts, classDevice: device, handed: handed, carrierGraceMs: grace)
            case .message(.stop):
                handed.forEach { _ = close($0) }
                return nil
            default:
                // Unknown lines are ignored, as in ControlChannel; what
                // came with them is not for a start.
                handed.forEach { _ = close($0) }
                handed.removeAll()
                continue
            }
        }
    }
}
