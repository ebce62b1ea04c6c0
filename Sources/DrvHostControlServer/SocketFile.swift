#if canImport(Glibc)
import Glibc
#endif
import Logging
import DrvHostControl
import DrvHostSystem

/// Why the control socket could not be set up. Nothing was changed on disk
/// when one of these is thrown (a stale socket may have been removed).
public struct SocketFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}

/// The control socket's path on disk: its directory, a stale socket left by
/// a dead hostd, its owner group and mode, its removal at shutdown.
struct SocketFile {
    let path: String

    /// Makes the directory and clears the way for bind(): removes a socket
    /// nobody answers on; refuses a live one (another hostd) and any file
    /// that is not a socket.
    func prepare() throws(SocketFileError) {
        try makeDirectory(parentDirectory)
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw SocketFileError(description: "\(SystemCallError.last(path))") }
            return
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SocketFileError(description: "\(path) exists and is not a socket; not removing it")
        }
        do {
            _ = try UnixStreamSocket(connectingTo: path)
            throw SocketFileError(description: "\(path) is in use: another hostd is answering on it")
        } catch let error as SocketFileError {
            throw error
        } catch {
            // Nobody listens: a socket left by a hostd that died.
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw SocketFileError(description: "cannot remove stale socket \(SystemCallError.last(path))")
        }
    }

    /// Group `groupName` and `mode` when the group exists; otherwise
    /// root-only 0600, said in the log.
    func restrict(toGroup groupName: String, mode: mode_t, logger: Logger) throws(SocketFileError) {
        if let gid = groupID(named: groupName) {
            guard chown(path, uid_t.max, gid) == 0 else {
                throw SocketFileError(description: "\(SystemCallError.last("chown \(path) to group \(groupName)"))")
            }
            try changeMode(mode)
        } else {
            logger.warning("group \(groupName) does not exist: control socket is root-only (0600)",
                           metadata: ["socket": "\(path)"])
            try changeMode(0o600)
        }
    }

    func remove() {
        unlink(path)
    }

    private func changeMode(_ mode: mode_t) throws(SocketFileError) {
        guard chmod(path, mode) == 0 else {
            throw SocketFileError(description: "\(SystemCallError.last("chmod \(path)"))")
        }
    }

    private var parentDirectory: String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// mkdir -p, 0755: members of the socket's group must reach the socket.
    private func makeDirectory(_ directory: String) throws(SocketFileError) {
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw SocketFileError(description: "\(directory) is not a directory")
            }
            return
        }
        if let slash = directory.lastIndex(of: "/"), slash != directory.startIndex {
            try makeDirectory(String(directory[..<slash]))
        }
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else {
            throw SocketFileError(description: "\(SystemCallError.last("mkdir \(directory)"))")
        }
    }
}
