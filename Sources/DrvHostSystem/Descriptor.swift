import Glibc
import SystemPackage

/// An owned file descriptor, closed exactly once: explicitly (the proxy's
/// close is what makes the kernel run the release program) or on deinit.
/// Reads and writes go through swift-system's FileDescriptor (EINTR
/// retried there); its errors carry the call's name.
public final class Descriptor {
    public private(set) var raw: Int32

    public init(taking raw: Int32) {
        self.raw = raw
    }

    deinit { close() }

    public var isOpen: Bool { raw >= 0 }

    /// swift-system's view of it (not owning: this object closes it).
    public var fileDescriptor: FileDescriptor { FileDescriptor(rawValue: raw) }

    public func close() {
        guard raw >= 0 else { return }
        // close(2) must not be retried on EINTR: the descriptor is gone
        // either way, and swift-system does not retry it.
        try? fileDescriptor.close()
        raw = -1
    }

    /// open(2) with O_CLOEXEC added; a file it creates gets `permissions`.
    public static func open(_ path: String, flags: Int32, permissions: mode_t = 0o600) throws(SystemCallError) -> Descriptor {
        do {
            let fd = try FileDescriptor.open(FilePath(path), FileDescriptor.AccessMode(rawValue: flags & O_ACCMODE),
                                             options: FileDescriptor.OpenOptions(rawValue: (flags & ~O_ACCMODE) | O_CLOEXEC),
                                             permissions: flags & O_CREAT != 0 ? FilePermissions(rawValue: permissions) : nil)
            return Descriptor(taking: fd.rawValue)
        } catch {
            throw SystemCallError(error, call: "open \(path)")
        }
    }

    /// Reads what is there; nil when a non-blocking descriptor has nothing.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemCallError) -> Int? {
        do {
            return try fileDescriptor.read(into: buffer)
        } catch let error as SystemPackage.Errno where error == .resourceTemporarilyUnavailable {
            return nil
        } catch {
            throw SystemCallError(error, call: "read")
        }
    }

    @discardableResult
    public func write(_ buffer: UnsafeRawBufferPointer) throws(SystemCallError) -> Int {
        do {
            return try fileDescriptor.write(buffer)
        } catch {
            throw SystemCallError(error, call: "write")
        }
    }

    /// All of `text`, however many writes it takes.
    public func write(_ text: String) throws(SystemCallError) {
        do {
            _ = try fileDescriptor.writeAll(text.utf8)
        } catch {
            throw SystemCallError(error, call: "write")
        }
    }
}
