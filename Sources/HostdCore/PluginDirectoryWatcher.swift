import CHostd
import FoundationEssentials
import Glibc
import DrvHostSystem

/// inotify on the plugin directory. A file counts as arrived when it is
/// closed after writing (cp) or renamed into the directory (the atomic
/// install), and as changed when its owner or mode changes; as gone when
/// deleted or renamed away. Names starting with "." are ignored, so a
/// temporary file being written for a later rename is never read half-done.
public final class PluginDirectoryWatcher: @unchecked Sendable {
    public enum Change: Equatable, Sendable {
        case arrived(String)
        case removed(String)
    }

    public let changes: AsyncStream<Change>
    private let continuation: AsyncStream<Change>.Continuation
    private let inotify: Int32
    private let wake: Int32

    public struct WatchError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(directory: String) throws(WatchError) {
        do {
            inotify = try systemCall("inotify_init1") { inotify_init1(Int32(IN_CLOEXEC)) }
        } catch {
            throw WatchError(description: "\(error)")
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM)
        do {
            _ = try systemCall("cannot watch \(directory)") { [inotify] in inotify_add_watch(inotify, directory, mask) }
        } catch {
            close(inotify)
            throw WatchError(description: "\(error)")
        }
        wake = chd_eventfd_cloexec()
        (changes, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread { [self] in run() }
        thread.name = "plugin-dir-watch"
        thread.start()
    }

    /// Ends the stream; the watching thread closes its descriptors.
    public func stop() {
        var one: UInt64 = 1
        _ = Glibc.write(wake, &one, 8)
    }

    private func run() {
        defer {
            continuation.finish()
            close(inotify)
            close(wake)
        }
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            guard (try? systemCall("poll") { poll(&fds, 2, -1) }) != nil else { return }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            guard let n = try? systemCall("read inotify", { read(inotify, buffer, size) }), n > 0 else { return }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameStart = buffer.advanced(by: offset + MemoryLayout<inotify_event>.size)
                let name = event.len > 0 ? String(cString: nameStart.assumingMemoryBound(to: CChar.self)) : ""
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
                guard !name.isEmpty, !name.hasPrefix(".") else { continue }
                if event.mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
                    continuation.yield(.removed(name))
                } else if event.mask & UInt32(IN_ISDIR) == 0 {
                    continuation.yield(.arrived(name))
                }
            }
        }
    }
}
