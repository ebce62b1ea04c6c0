import CDrvHost
import DrvHostProtocol

/// The plugin's half of "drvhost.net/1" (struct dh_net_device), checked
/// field by field as the descriptor is: a malformed one ends the instance
/// with the reason, before any interface is touched.
struct NetDeviceDescription {
    typealias Transmit = @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafePointer<dh_net_frame>?, UInt32) -> UInt32

    let mac: [UInt8]
    let mtu: UInt32
    let queueCount: Int
    let transmit: Transmit

    /// The longest frame either side may hand over: destination, source,
    /// type and the MTU's payload, plus a VLAN tag when the frame has one.
    var maxUntaggedFrame: Int { Int(mtu) + 14 }
    var maxFrame: Int { Int(mtu) + 18 }

    init(_ raw: UnsafeRawPointer, plugin: String) throws(HostFailure) {
        func invalid(_ reason: String) -> HostFailure {
            HostFailure(.deviceClassFailed, "plugin \(plugin): its \(NetClass.extensionID) device is invalid: \(reason)")
        }
        // struct_size first: fields past what the plugin says it has are not read.
        let size = raw.loadUnaligned(as: UInt32.self)
        guard size >= UInt32(MemoryLayout<dh_net_device>.size) else {
            throw invalid("struct_size \(size) is below \(MemoryLayout<dh_net_device>.size)")
        }
        let device = raw.loadUnaligned(as: dh_net_device.self)
        guard device.flags == 0 else { throw invalid("flags must be 0, not \(device.flags)") }
        guard device.reserved0 == 0, device.reserved1 == 0 else { throw invalid("reserved fields must be 0") }
        guard device.offloads == 0 else { throw invalid("offloads \(device.offloads): this host offers none (0)") }
        let mac = withUnsafeBytes(of: device.mac) { Array($0) }
        guard mac.contains(where: { $0 != 0 }) else { throw invalid("the MAC address is all zero") }
        guard mac[0] & 1 == 0 else { throw invalid("the MAC address \(NetDeviceDescription.format(mac)) is a multicast address") }
        guard (UInt32(DH_NET_MIN_MTU)...UInt32(DH_NET_MAX_MTU)).contains(device.mtu) else {
            throw invalid("mtu \(device.mtu) is outside \(DH_NET_MIN_MTU)..\(DH_NET_MAX_MTU)")
        }
        guard (1...UInt32(DH_NET_MAX_QUEUES)).contains(device.queue_count) else {
            throw invalid("queue_count \(device.queue_count) is outside 1..\(DH_NET_MAX_QUEUES)")
        }
        guard let transmit = device.transmit else { throw invalid("transmit is NULL") }
        self.mac = mac
        mtu = device.mtu
        queueCount = Int(device.queue_count)
        self.transmit = transmit
    }

    static func format(_ mac: [UInt8]) -> String {
        mac.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
