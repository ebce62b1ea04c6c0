import CDrvHost
import Glibc

/// A warm standby: a driverhost that has loaded and validated its plugin,
/// but has not opened the device, waits here for the supervisor's "start".
/// Starting a process and loading a plugin are most of a restart's cost, so
/// a supervisor keeps one standby per instance and, after a crash and the
/// kernel's release, only has to say "start".
///
///   supervisor -> standby:  "start <restart-count> [<kind> <name>]"
///                                                     open the device and attach
///                                                     (recovering that class device)
///                           "stop", end of file        exit 0, device untouched
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
            let n = poll(&fds, 2, -1)
            if n < 0 {
                if errno == EINTR { continue }
                throw HostFailure(.internalError, "\(Errno(errno, call: "poll"))")
            }
            if fds[1].revents != 0 { return nil }
            var byte: UInt8 = 0
            let got = read(control, &byte, 1)
            if got < 0 && errno == EINTR { continue }
            guard got == 1 else { return nil }
            guard byte == UInt8(ascii: "\n") else {
                if line.count < ControlChannel.maxLine { line.append(byte) }
                continue
            }
            let fields = String(decoding: line, as: UTF8.self).split(separator: " ")
            line.removeAll()
            if fields.first == "start" { startedNs = cdh_monotonic_ns() }
            switch (fields.first, fields.count) {
            case ("start"?, 2):
                if let restarts = UInt32(fields[1]) { return Start(restartCount: restarts) }
            case ("start"?, 4):
                if let restarts = UInt32(fields[1]), let name = LineEscaping.unescape(fields[3]) {
                    return Start(restartCount: restarts, classDevice: ClassDevice(kind: String(fields[2]), name: name))
                }
            case ("stop"?, _):
                return nil
            default:
                continue  // unknown lines are ignored, as in ControlChannel
            }
        }
    }
}
