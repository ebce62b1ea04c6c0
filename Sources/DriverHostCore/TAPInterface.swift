import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// A TAP interface as the kernel's tun driver keeps it: made persistent, so
/// that it, its addresses, routes and the sockets using it outlive the
/// driverhost that serves it. Closing the last queue of a persistent TAP
/// leaves the interface in place with its carrier off (drivers/net/tun.c,
/// __tun_detach: netif_carrier_off once no queue is attached, and
/// unregister only without IFF_PERSIST; seen in the 6.12 guest: every
/// crash of the VM benchmark waits for the carrier to go off). The server
/// sets it from the plugin's link state once a queue is attached again.
enum TAPInterface {
    /// What /sys/class/net/<name>/tun_flags says: nil if there is no such
    /// interface or it is not a tun/tap device.
    struct Flags {
        var isTAP: Bool
        var multiQueue: Bool
    }

    static func exists(_ name: String) -> Bool {
        if_nametoindex(name) != 0
    }

    static func flags(_ name: String) -> Flags? {
        guard let fd = try? Descriptor.open("/sys/class/net/\(name)/tun_flags", flags: O_RDONLY) else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 32, alignment: 1)
        defer { buffer.deallocate() }
        guard let n = try? fd.read(into: buffer), n > 0 else { return nil }
        var text = String(decoding: buffer[..<n], as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        if text.hasPrefix("0x") { text.removeFirst(2) }
        guard let value = Int32(text, radix: 16) else { return nil }
        return Flags(isTAP: value & cdh_tap_flag_tap() != 0, multiQueue: value & cdh_tap_flag_multi_queue() != 0)
    }

    /// Attaches `count` queues (creating the interface if it does not exist).
    static func attachQueues(_ name: String, count: Int) throws(SystemCallError) -> [Descriptor] {
        var queues: [Descriptor] = []
        for _ in 0..<count {
            let fd = try systemCall("TUNSETIFF \(name)") { cdh_tap_attach(name, count > 1 ? 1 : 0) }
            queues.append(Descriptor(taking: fd))
        }
        return queues
    }

    static func setPersistent(_ queue: Descriptor, _ persistent: Bool) throws(SystemCallError) {
        _ = try systemCall("TUNSETPERSIST") { cdh_tap_set_persist(queue.raw, persistent ? 1 : 0) }
    }

    static func setCarrier(_ queue: Descriptor, _ up: Bool) throws(SystemCallError) {
        _ = try systemCall("TUNSETCARRIER") { cdh_tap_set_carrier(queue.raw, up ? 1 : 0) }
    }

    static func setMAC(_ queue: Descriptor, _ mac: [UInt8]) throws(SystemCallError) {
        _ = try systemCall("SIOCSIFHWADDR") { mac.withUnsafeBufferPointer { cdh_tap_set_mac(queue.raw, $0.baseAddress) } }
    }

    static func setMTU(_ name: String, _ mtu: UInt32) throws(SystemCallError) {
        _ = try systemCall("SIOCSIFMTU \(name)") { cdh_netif_set_mtu(name, mtu) }
    }

    /// How many frames the kernel queues for the interface's reader, the
    /// driverhost (tun's default is 500). The queue holds what is sent while
    /// a driverhost restarts, and what a crash lost is sent again behind
    /// it: a shorter queue bounds that wait, which is most of a crash's gap
    /// in a TCP transfer beyond the restart itself (VM bench 62 on a quiet
    /// host, longest crash gap: 307-372 ms with 500 frames, 154-255 with
    /// 256; 100 frames cost a third of the throughput).
    static let transmitQueueFrames: UInt32 = 256

    static func setTransmitQueueLength(_ name: String, _ frames: UInt32) throws(SystemCallError) {
        _ = try systemCall("SIOCSIFTXQLEN \(name)") { cdh_netif_set_tx_queue_len(name, frames) }
    }

    /// Removes a persistent TAP interface: attach a queue, take persistence
    /// away, close. A missing interface is not an error; one that is not a
    /// TAP is left alone.
    static func remove(_ name: String) throws(HostFailure) {
        if let problem = NetInterfaceName.problem(name) { throw HostFailure(.usage, problem) }
        guard exists(name) else { return }
        guard let flags = flags(name), flags.isTAP else {
            throw HostFailure(.deviceSetupFailed, "\(name) is not a TAP interface: left alone")
        }
        do {
            let fd = try systemCall("TUNSETIFF \(name)") { cdh_tap_attach(name, flags.multiQueue ? 1 : 0) }
            let queue = Descriptor(taking: fd)
            try setPersistent(queue, false)
            queue.close()
        } catch {
            throw HostFailure(.deviceSetupFailed, "cannot remove interface \(name): \(error)")
        }
    }
}
