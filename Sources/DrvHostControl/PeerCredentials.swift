#if canImport(Glibc)
import Glibc
import DrvHostSystem
#endif

/// Who is on the other end of a connection: the kernel's SO_PEERCRED
/// answer (taken at connect time) plus the peer's supplementary groups.
public struct PeerCredentials: Equatable, Sendable, CustomStringConvertible {
    public var pid: pid_t
    public var uid: uid_t
    public var gid: gid_t
    public var supplementaryGroups: [gid_t]

    public init(pid: pid_t, uid: uid_t, gid: gid_t, supplementaryGroups: [gid_t]) {
        self.pid = pid; self.uid = uid; self.gid = gid
        self.supplementaryGroups = supplementaryGroups
    }

    /// Completes SO_PEERCRED's answer with the peer's groups: the process's
    /// own list from /proc (what it really holds, after any setgroups), or
    /// the account's groups when /proc cannot tell (the peer exited, or
    /// lives in another pid namespace and the kernel reported pid 0).
    public init(pid: pid_t, uid: uid_t, gid: gid_t) {
        let groups = (pid > 0 ? Self.groups(ofProcess: pid) : nil) ?? Self.groups(ofAccount: uid, gid: gid)
        self.init(pid: pid, uid: uid, gid: gid, supplementaryGroups: groups)
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }

    /// The "Groups:" line of /proc/<pid>/status.
    static func groups(ofProcess pid: pid_t) -> [gid_t]? {
        guard let status = readSmallFile("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Groups:") {
            return line.dropFirst("Groups:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
                .compactMap { gid_t($0) }
        }
        return nil
    }

    static func groups(ofAccount uid: uid_t, gid: gid_t) -> [gid_t] {
        guard let name = accountName(uid) else { return [] }
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let previous = count
            if getgrouplist(name, gid, &groups, &count) >= 0 {
                return Array(groups.prefix(Int(count)))
            }
            // -1 with count raised to the number needed; guard against a
            // libc that leaves it unchanged.
            if count <= previous { count = previous * 2 }
        }
    }

    private static func accountName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil,
              let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}

/// Who may change things: root, and members of one group (drvhost).
public struct AccessPolicy: Equatable, Sendable {
    /// nil when the group does not exist: then only root may change things.
    public var adminGroup: gid_t?

    public init(adminGroup: gid_t?) {
        self.adminGroup = adminGroup
    }

    /// The policy for a group name, looked up in the group database.
    public init(adminGroupNamed name: String) {
        self.init(adminGroup: groupID(named: name))
    }

    public func mayChange(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 { return true }
        guard let adminGroup else { return false }
        return peer.gid == adminGroup || peer.supplementaryGroups.contains(adminGroup)
    }
}

package func groupID(named name: String) -> gid_t? {
    var entry = group()
    var result: UnsafeMutablePointer<group>?
    var buffer = [CChar](repeating: 0, count: 16384)
    guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
    return entry.gr_gid
}

/// A /proc or sysfs file, read whole with plain reads (their size is not
/// known ahead); nil if it cannot be read or holds over 1 MiB.
public func readSmallFile(_ path: String) -> String? {
    guard let file = try? Descriptor.open(path, flags: O_RDONLY) else { return nil }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        // Blocking: read answers a count or an error, never "nothing yet".
        guard let count = try? chunk.withUnsafeMutableBytes({ try file.read(into: $0) }) else { return nil }
        if count == 0 { break }
        bytes += chunk[..<count]
        if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}
