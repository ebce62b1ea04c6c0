import CHostd
import Glibc
import DrvHostSystem

/// The queues of an instance's class device (a TAP interface's) that hostd
/// keeps open for the instance's life, so that a driverhost's crash neither
/// detaches them (the kernel's tun would wait out an RCU grace period and
/// turn the carrier off) nor makes the next driverhost attach them again.
///
/// They are the driverhost's own open files, taken with pidfd_getfd when it
/// says "queues"; hostd never reads them. It hands them to the next
/// driverhost with its "start", turns the carrier off once nobody has
/// driven the interface for the carrier grace (Supervisor.classDeviceUndriven),
/// and lets them go before the class device is ended or a driverhost is
/// started that will attach by name.
final class KeptClassQueues {
    private(set) var descriptors: [Int32] = []
    /// Since when (the supervisor's ms) no driverhost's plugin has said the
    /// link is up; nil while one does.
    var undrivenSinceMs: Int64?
    /// hostd's part of the carrier grace since the last driverhost had them.
    var grace = Grace.none

    enum Grace: Equatable {
        case none
        /// The watcher's timer that ends it.
        case running(timer: UInt64)
        /// It ended: hostd turned the carrier off.
        case ended
    }

    deinit { release() }

    /// Takes `fds` (numbers in the driverhost's table) from it, replacing
    /// what was kept: a new plugin version may have another queue count.
    /// Nothing is kept unless every one could be taken.
    func take(_ fds: [Int32], from connection: DriverhostConnection) throws(KeptClassQueuesError) {
        guard fds.count <= Int(CHD_MAX_HANDED_FDS) else { throw .init(reason: "\(fds.count) queues, at most \(CHD_MAX_HANDED_FDS)") }
        var taken: [Int32] = []
        for fd in fds {
            let copy = connection.takeDescriptor(fd)
            guard copy >= 0 else {
                taken.forEach { _ = close($0) }
                throw .init(reason: "\(SystemCallError(-copy, call: "pidfd_getfd \(fd)"))")
            }
            taken.append(copy)
        }
        closeAll()
        descriptors = taken
    }

    /// Nobody has driven the device for the grace: carrier off (until the
    /// next plugin's set_link). A failure is returned for the log; nothing
    /// else depends on it.
    func carrierOff() -> String? {
        guard let first = descriptors.first else { return nil }
        let result = chd_tap_set_carrier(first, 0)
        return result == 0 ? nil : SystemCallError(-result, call: "TUNSETCARRIER").description
    }

    func release() {
        closeAll()
        forgetGrace()
        undrivenSinceMs = nil
    }

    /// A driverhost has them now, or nobody will: hostd's timer stops.
    func forgetGrace() {
        if case .running(let timer) = grace { ChildWatcher.shared.cancelTimer(timer) }
        grace = .none
    }

    private func closeAll() {
        descriptors.forEach { _ = close($0) }
        descriptors.removeAll()
    }
}

struct KeptClassQueuesError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
