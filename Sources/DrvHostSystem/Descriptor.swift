import Glibc

/// An owned file descriptor, closed exactly once: explicitly (the proxy's
/// close is what makes the kernel run the release program) or on deinit.
public final class Descriptor {
    public private(set) var raw: Int32

    public init(taking raw: Int32) {
        self.raw = raw
    }

    deinit { close() }

    public var isOpen: Bool { raw >= 0 }

    public func close() {
        guard raw >= 0 else { return }
        // close(2) must not be retried on EINTR: the descriptor is gone.
        _ = Glibc.close(raw)
        raw = -1
    }

    public static func open(_ path: String, flags: Int32) throws(Errno) -> Descriptor {
        let fd = try systemCall("open \(path)") { Glibc.open(path, flags | O_CLOEXEC) }
        return Descriptor(taking: fd)
    }

    /// Reads what is there; nil when a non-blocking descriptor has nothing.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        do {
            return try systemCall("read") { Glibc.read(raw, buffer.baseAddress, buffer.count) }
        } catch where error.code == EAGAIN {
            return nil
        }
    }

    @discardableResult
    public func write(_ buffer: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try systemCall("write") { Glibc.write(raw, buffer.baseAddress, buffer.count) }
    }

    public func write(_ text: String) throws(Errno) {
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            done += try systemCall("write") {
                bytes.withUnsafeBytes { Glibc.write(raw, $0.baseAddress! + done, $0.count - done) }
            }
        }
    }
}
