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
/// A termination signal also ends the wait. The line is read a byte at a
/// time so that nothing after it (a "call" sent right behind the start) is
/// taken from the event loop's ControlChannel.
enum Standby {
    struct Start: Equatable {
        var restartCount: UInt32
        var classDevice: ClassDevice?
    }

    /// When the start came (monotonic ns), nil if this driverhost was no
    /// standby: a device class logs its recovery's timeline from there.
    nonisolated(unsafe) static var startedNs: UInt64?

    /// What to attach with, or nil: leave without starting.
    static func awaitStart(control: Int32, signals: Int32) throws(HostFailure) -> Start? {
        var line: [UInt8] = []
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
            guard (try? systemCall("read") { read(control, &byte, 1) }) == 1 else { return nil }
            guard byte == UInt8(ascii: "\n") else {
                if line.count < ControlChannel.maxLine { line.append(byte) }
                continue
            }
            let parsed = SupervisorMessage.parse(String(decoding: line, as: UTF8.self))
            line.removeAll()
            switch parsed {
            case .message(.start(let restarts, let device)):
                startedNs = cdh_monotonic_ns()
                return Start(restartCount: restarts, classDevice: device)
            case .message(.stop):
                return nil
            default:
                continue  // unknown lines are ignored, as in ControlChannel
            }
        }
    }
}
