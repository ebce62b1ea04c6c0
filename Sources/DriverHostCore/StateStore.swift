import CDrvHost
import Glibc
import DrvHostSystem

/// Where a plugin's saved state blob lives between restarts: a file the
/// supervisor names (--state-file), replaced atomically on each save.
public struct StateStore {
    public let path: String?

    public init(path: String?) {
        self.path = path
    }

    func save(_ data: UnsafeRawBufferPointer) -> Int32 {
        // The size first: a bad argument is DH_ERR_INVALID on every host,
        // whether or not this one keeps state.
        guard data.count <= Int(DH_STATE_MAX) else { return DH_ERR_INVALID }
        guard let path else { return DH_ERR_NOT_SUPPORTED }
        let temporary = path + ".new"
        do {
            let file = try Descriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
            var done = 0
            while done < data.count {
                done += try file.write(UnsafeRawBufferPointer(rebasing: data[done...]))
            }
            _ = try systemCall("fsync") { fsync(file.raw) }
            file.close()
            _ = try systemCall("rename") { rename(temporary, path) }
            return DH_OK
        } catch {
            return DH_ERR_IO
        }
    }

    func load(into buffer: UnsafeMutableRawBufferPointer, size: inout UInt32) -> Int32 {
        guard let path else { return DH_ERR_NOT_FOUND }
        guard let file = try? Descriptor.open(path, flags: O_RDONLY) else { return DH_ERR_NOT_FOUND }
        var blob = [UInt8](repeating: 0, count: Int(DH_STATE_MAX) + 1)
        var total = 0
        while total < blob.count {
            let n = blob.withUnsafeMutableBytes { bytes in
                try? file.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[total...]))
            }
            guard let n else { return DH_ERR_IO }
            if n == 0 { break }
            total += n
        }
        guard total <= Int(DH_STATE_MAX) else { return DH_ERR_IO }
        size = UInt32(total)
        guard total <= buffer.count else { return DH_ERR_INVALID }
        blob.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<total])) }
        return DH_OK
    }
}
