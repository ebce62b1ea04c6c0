import CHostd
import FoundationEssentials
import Glibc
import DrvHostProtocol
import DrvHostSystem

/// Reads what a plugin file declares without loading it into hostd: first
/// the checks on the file itself, then `driverhost --describe` in a child,
/// killed if it outlives the timeout. A plugin whose constructor crashes or
/// hangs costs a child process, never hostd.
public struct DescriptorReader: Sendable {
    public var driverhostPath: String
    public var timeout: Duration
    /// Who must own a plugin file (root on a real system).
    public var requiredOwner: uid_t
    /// The most `driverhost --describe` may print.
    static let maxOutput = 1 << 20

    public init(driverhostPath: String, timeout: Duration = .seconds(5), requiredOwner: uid_t = 0) {
        self.driverhostPath = driverhostPath
        self.timeout = timeout
        self.requiredOwner = requiredOwner
    }

    public enum Outcome: Equatable, Sendable {
        case described(PluginDescription)
        case refused(String)
    }

    public func read(_ path: String) -> Outcome {
        if let why = fileProblem(path) { return .refused(why) }
        return describe(path)
    }

    /// Ownership, permissions and the ELF header: refused before any code
    /// from the file runs anywhere.
    public func fileProblem(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return "cannot \(SystemCallError.last("stat").description)" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "not a regular file" }
        guard info.st_uid == requiredOwner else { return "owned by uid \(info.st_uid), not \(requiredOwner == 0 ? "root" : "uid \(requiredOwner)")" }
        guard info.st_mode & (S_IWOTH | S_IWGRP) == 0 else {
            return "writable by \(info.st_mode & S_IWOTH != 0 ? "others" : "its group") (mode \(String(info.st_mode & 0o7777, radix: 8)))"
        }
        let file: Descriptor
        do {
            file = try Descriptor.open(path, flags: O_RDONLY)
        } catch {
            return "cannot open: \(error.errno)"
        }
        var header = [UInt8](repeating: 0, count: 18)
        // The Descriptor closes its number when it goes: kept alive across
        // the read, or Swift may end it (and close the fd) before pread.
        let count = withExtendedLifetime(file) { pread(file.raw, &header, 18, 0) }
        // ELF magic, then e_type (little-endian, offset 16) must be ET_DYN (3).
        guard count == 18, header[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else { return "not a shared object (no ELF header)" }
        guard header[16] == 3, header[17] == 0 else { return "not a shared object (ELF type \(header[16]))" }
        return nil
    }

    private func describe(_ path: String) -> Outcome {
        var out: [Int32] = [-1, -1]
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&out) == 0 else { return .refused("cannot read the descriptor: \(SystemCallError.last("pipe"))") }
        guard chd_pipe_cloexec(&err) == 0 else {
            close(out[0]); close(out[1])
            return .refused("cannot read the descriptor: \(SystemCallError.last("pipe"))")
        }
        defer { close(out[0]); close(err[0]) }
        let child: ChildProcess
        do {
            child = try ChildProcess(path: driverhostPath, arguments: ["--describe", "--plugin", path],
                                     stdoutFD: out[1], stderrFD: err[1])
        } catch {
            close(out[1]); close(err[1])
            return .refused("cannot read the descriptor: \(error)")
        }
        close(out[1]); close(err[1])
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var flooded = false
        let deadline = ContinuousClock.now + timeout
        guard let status = child.wait(watching: [out[0], err[0]], deadline: deadline, onData: { fd, bytes in
            if fd == out[0] {
                // A descriptor is a few KiB of JSON; more is a plugin
                // printing from its constructor: kill it, keep nothing.
                guard !flooded else { return }
                stdout += bytes
                if stdout.count > DescriptorReader.maxOutput {
                    flooded = true
                    stdout = []
                    child.signal(SIGKILL)
                }
            } else if stderr.count < 8192 {
                stderr += bytes
            }
        }) else {
            child.signal(SIGKILL)
            child.reap()
            return .refused("reading the descriptor took longer than \(timeout) (constructor hangs?); killed")
        }
        if flooded {
            return .refused("reading the descriptor printed over \(DescriptorReader.maxOutput) bytes (a constructor that prints?); killed")
        }
        let message = String(decoding: stderr, as: UTF8.self)
            .split(separator: "\n").last.map { String($0) } ?? ""
        guard status == .exited(0) else {
            // driverhost's own message already says why; drop its prefix.
            let why = message.components(separatedBy: ": error: ").last ?? message
            switch status {
            case .signaled: return .refused("reading the descriptor crashed: \(status)")
            default: return .refused(why.isEmpty ? "\(status)" : "\(why) [\(status)]")
            }
        }
        do {
            return .described(try JSONDecoder().decode(PluginDescription.self, from: Data(stdout)))
        } catch {
            return .refused("driverhost --describe printed no descriptor: \(error)")
        }
    }
}
