import DrvHostSystem
import Glibc

/// A blocking, connected Unix stream socket: the client side of the control
/// socket. System calls go through DrvHostSystem (EINTR retried there);
/// SIGPIPE is never raised (MSG_NOSIGNAL), a closed peer is an EPIPE error
/// instead.
public final class UnixStreamSocket {
    private let fd: Int32
    private var received: [UInt8] = []

    /// Connects, with `timeout` (seconds) on every later send and receive.
    public init(connectingTo path: String, timeout: Int? = nil) throws(SystemCallError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SystemCallError(ENAMETOOLONG, call: "connect \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        // A local until connected: `self.fd` is set last, so that a throw
        // before it leaves the object uninitialized and its deinit (which
        // closes fd) does not run, and the number is closed exactly once.
        let fd = try systemCall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        if let timeout {
            var value = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        let result = withUnsafePointer(to: &address) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                // Not retried on EINTR: a second connect() would report
                // EALREADY, not the outcome.
                connect(fd, generic, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let error = SystemCallError.last("connect \(path)")
            Glibc.close(fd)
            throw error
        }
        self.fd = fd
    }

    deinit {
        Glibc.close(fd)
    }

    public func send(_ bytes: [UInt8]) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            offset += try systemCall("send") {
                bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }
    }

    /// The next line without its newline; nil when the peer closed first.
    /// A line longer than `maximumLength` is an EMSGSIZE error.
    public func receiveLine(maximumLength: Int = 16 << 20) throws(SystemCallError) -> [UInt8]? {
        var searched = 0
        while true {
            if let newline = received[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(received[..<newline])
                received.removeSubrange(...newline)
                return line
            }
            searched = received.count
            guard received.count <= maximumLength else {
                throw SystemCallError(EMSGSIZE, call: "receive")
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = try systemCall("receive") {
                chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            if count == 0 { return nil }
            received += chunk[..<count]
        }
    }

    /// Waits until the peer closes the connection, without reading
    /// anything; false if `milliseconds` pass first.
    public func waitForHangUp(milliseconds: Int32) throws(SystemCallError) -> Bool {
        // No events asked for: poll reports only POLLHUP and POLLERR.
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        let ready = try systemCall("poll") { poll(&entry, 1, milliseconds) }
        return ready > 0
    }

    /// Ends our sending side; the peer reads end of file.
    public func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }
}
