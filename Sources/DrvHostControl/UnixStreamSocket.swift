#if canImport(Glibc)
import Glibc
#endif

/// A failed system call on a client socket, with its errno.
public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public var description: String { "\(operation): \(errnoText(code))" }
}

/// A blocking, connected Unix stream socket: the client side of the control
/// socket. EINTR is retried here and nowhere else; SIGPIPE is never raised
/// (MSG_NOSIGNAL), a closed peer is an EPIPE error instead.
public final class UnixStreamSocket {
    private let fd: Int32
    private var received: [UInt8] = []

    /// Connects, with `timeout` (seconds) on every later send and receive.
    public init(connectingTo path: String, timeout: Int? = nil) throws(SocketError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SocketError(operation: "connect \(path)", code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
        if let timeout {
            var value = timeval(tv_sec: timeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        let fd = self.fd
        let result = withUnsafePointer(to: &address) { address in
            address.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                // Not retried on EINTR: a second connect() would report
                // EALREADY, not the outcome.
                connect(fd, generic, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError(operation: "connect \(path)", code: code)
        }
    }

    deinit {
        Glibc.close(fd)
    }

    public func send(_ bytes: [UInt8]) throws(SocketError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { chunk in
                retryingOnInterrupt { Glibc.send(fd, chunk.baseAddress, chunk.count, Int32(MSG_NOSIGNAL)) }
            }
            guard sent >= 0 else { throw SocketError(operation: "send", code: errno) }
            offset += sent
        }
    }

    /// The next line without its newline; nil when the peer closed first.
    /// A line longer than `maximumLength` is an EMSGSIZE error.
    public func receiveLine(maximumLength: Int = 16 << 20) throws(SocketError) -> [UInt8]? {
        var searched = 0
        while true {
            if let newline = received[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(received[..<newline])
                received.removeSubrange(...newline)
                return line
            }
            searched = received.count
            guard received.count <= maximumLength else {
                throw SocketError(operation: "receive", code: EMSGSIZE)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { recv(fd, buffer.baseAddress, buffer.count, 0) }
            }
            guard count >= 0 else { throw SocketError(operation: "receive", code: errno) }
            if count == 0 { return nil }
            received += chunk[..<count]
        }
    }

    /// Waits until the peer closes the connection, without reading
    /// anything; false if `milliseconds` pass first.
    public func waitForHangUp(milliseconds: Int32) throws(SocketError) -> Bool {
        // No events asked for: poll reports only POLLHUP and POLLERR.
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        let ready = retryingOnInterrupt { poll(&entry, 1, milliseconds) }
        guard ready >= 0 else { throw SocketError(operation: "poll", code: errno) }
        return ready > 0
    }

    /// Ends our sending side; the peer reads end of file.
    public func shutdownSending() {
        shutdown(fd, Int32(SHUT_WR))
    }
}

func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result < 0 && errno == EINTR { continue }
        return result
    }
}

package func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
