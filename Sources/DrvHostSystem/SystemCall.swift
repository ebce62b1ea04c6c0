import Glibc
import SystemPackage

/// A failed system call: which one, and its errno as swift-system types it.
/// The one error type of every target's system calls.
public struct SystemCallError: Error, CustomStringConvertible, Sendable, Equatable {
    public let errno: SystemPackage.Errno
    public let call: String

    public init(_ errno: SystemPackage.Errno, call: String) {
        self.errno = errno
        self.call = call
    }

    public init(_ code: Int32, call: String) {
        self.init(SystemPackage.Errno(rawValue: code), call: call)
    }

    /// What a swift-system call threw (it throws nothing but Errno).
    public init(_ error: any Error, call: String) {
        self.init((error as? SystemPackage.Errno) ?? .ioError, call: call)
    }

    /// The errno value, to compare with EAGAIN and the like.
    public var code: Int32 { errno.rawValue }

    /// "connect /run/drvhost/control.sock: No such file or directory".
    public var description: String { "\(call): \(errno.description)" }

    /// The calling thread's errno, now (after a call that failed).
    public static func last(_ call: String) -> SystemCallError {
        SystemCallError(Glibc.errno, call: call)
    }
}

/// Runs a system call until it is not interrupted: the one place EINTR is
/// handled for calls swift-system does not wrap (sockets, ioctl, epoll, the
/// C shims). A negative result becomes SystemCallError; a shim that returns
/// -errno instead of setting errno goes through `shimCall`.
// @inlinable: driverhost's loop calls it for every event (epoll_wait, the
// eventfd read) from another module; a cross-module generic call there
// cost ~5% of the dispatch benchmark.
@inlinable @inline(__always)
public func systemCall<T: BinaryInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = Glibc.errno
        if code == EINTR { continue }
        throw SystemCallError(code, call: name())
    }
}

/// A C shim's result: >= 0, or -errno (the shims retry EINTR themselves).
@inlinable @inline(__always)
public func shimCall<T: BinaryInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(SystemCallError) -> T {
    let result = body()
    guard result < 0 else { return result }
    throw SystemCallError(Int32(truncatingIfNeeded: 0 - result), call: name())
}
