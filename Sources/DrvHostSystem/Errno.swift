import Glibc

/// A failed system call: which one and its errno.
public struct Errno: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let call: String

    public init(_ code: Int32, call: String) {
        self.code = code
        self.call = call
    }

    public var description: String {
        "\(call): \(String(cString: strerror(code)))"
    }
}

/// Runs a system call until it is not interrupted: the one place EINTR is
/// handled. A negative result becomes `Errno`.
@inline(__always)
public func systemCall<T: BinaryInteger>(_ name: @autoclosure () -> String, _ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw Errno(code, call: name())
    }
}
