import CDrvHost
import Glibc
import DrvHostSystem

/// One epoll set. Sources are registered with a token that comes back when
/// they are ready. Level-triggered: a source left unread stays ready.
public final class Epoll {
    public let descriptor: Descriptor
    public static let maxReady = 64

    public init() throws(SystemCallError) {
        descriptor = Descriptor(taking: try systemCall("epoll_create1") { cdh_epoll_create() })
    }

    public func add(_ fd: Int32, token: UInt64) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl ADD") { cdh_epoll_add(descriptor.raw, fd, cdh_epollin(), token) }
    }

    public func remove(_ fd: Int32) throws(SystemCallError) {
        _ = try systemCall("epoll_ctl DEL") { cdh_epoll_del(descriptor.raw, fd) }
    }

    /// Waits for ready sources (timeoutMs -1: forever). The only place
    /// driverhost blocks.
    public func wait(into ready: UnsafeMutablePointer<cdh_ready>, timeoutMs: Int32) throws(SystemCallError) -> Int {
        Int(try systemCall("epoll_wait") { cdh_epoll_wait(descriptor.raw, ready, Int32(Epoll.maxReady), timeoutMs) })
    }
}
