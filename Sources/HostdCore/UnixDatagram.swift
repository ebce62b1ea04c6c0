import Glibc

/// One datagram to an AF_UNIX socket named by a path, or "@name" in the
/// abstract namespace, as sd_notify and the journal's native protocol send
/// them. Unconnected, so a restarted receiver is found again.
struct UnixDatagramSocket: Sendable {
    let fd: Int32

    init?() {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
    }

    func close() { _ = Glibc.close(fd) }

    /// 0 when sent, else the errno (ENAMETOOLONG for a path that does not fit).
    func send(_ bytes: [UInt8], to path: String) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        guard name.count <= MemoryLayout.size(ofValue: address.sun_path) else { return ENAMETOOLONG }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let sent = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        return sent < 0 ? errno : 0
    }
}
