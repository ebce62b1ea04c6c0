import CDrvHost
import DrvHostSystem
import Glibc

extension Descriptor {
    /// A non-blocking eventfd: the simulated device's interrupt line.
    public static func eventFD() throws(SystemCallError) -> Descriptor {
        Descriptor(taking: try systemCall("eventfd") { cdh_eventfd_create() })
    }

    public func signalEventFD(_ count: UInt64 = 1) throws(SystemCallError) {
        var value = count
        _ = try systemCall("write eventfd") { Glibc.write(raw, &value, 8) }
    }

    /// Reads an eventfd or timerfd counter; 0 when it is not ready.
    public func readCounter() throws(SystemCallError) -> UInt64 {
        var value: UInt64 = 0
        do {
            let n = try systemCall("read counter") { Glibc.read(raw, &value, 8) }
            return n == 8 ? value : 0
        } catch where error.code == EAGAIN {
            return 0
        }
    }
}
