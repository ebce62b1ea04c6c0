import CDrvHostSDK

/// The net class ("drvhost.net/1", drvhost/net.h) in Swift: a driver that
/// conforms to NetDriver becomes a Linux network interface.
public protocol NetDriver: Driver {
    /// MAC, MTU and queues, asked once after init (bus mastering is on).
    var netInterface: NetInterface { get }
    /// Transmit `frames` on `queue`, in order; return how many were taken
    /// (copied into the device's ring, or dropped as malformed). Fewer:
    /// the ring is full; call NetHost.transmitReady when it has room. The
    /// frames' memory is the host's, valid during the call only.
    func transmit(queue: UInt32, frames: NetFrames) -> Int
}

public struct NetInterface: Equatable, Sendable {
    /// Unicast, not all zero.
    public var mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
    public var mtu: UInt32
    public var queueCount: UInt32

    public init(mac: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8), mtu: UInt32 = 1500, queueCount: UInt32 = 1) {
        self.mac = mac
        self.mtu = mtu
        self.queueCount = queueCount
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.mac == b.mac && a.mtu == b.mtu && a.queueCount == b.queueCount
    }

    var raw: dh_net_device {
        var device = dh_net_device()
        device.struct_size = UInt32(MemoryLayout<dh_net_device>.size)
        device.mac = mac
        device.mtu = mtu
        device.queue_count = queueCount
        return device
    }
}

/// A batch of frames from the host, each as raw bytes (no copy).
public struct NetFrames: RandomAccessCollection {
    let frames: UnsafeBufferPointer<dh_net_frame>

    public var startIndex: Int { 0 }
    public var endIndex: Int { frames.count }
    public subscript(index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: frames[index].data, count: Int(frames[index].length))
    }
}

/// The host's half: received frames, link state, transmit flow control.
public struct NetHost {
    let table: UnsafePointer<dh_net_host>
    let instance: OpaquePointer

    /// Hands received frames to the interface (copied before it returns);
    /// returns how many were delivered (malformed ones are dropped, counted).
    @discardableResult
    public func receive(queue: UInt32, frames: [UnsafeRawBufferPointer]) -> Int {
        let raw = frames.map { dh_net_frame(data: $0.baseAddress, length: UInt32($0.count), flags: 0) }
        return Int(raw.withUnsafeBufferPointer { table.pointee.receive(instance, queue, $0.baseAddress, UInt32($0.count)) })
    }

    /// The link went up or down: the interface's carrier follows.
    public func setLink(up: Bool) {
        table.pointee.set_link(instance, up ? 1 : 0)
    }

    /// The transmit ring of `queue` has room again.
    public func transmitReady(queue: UInt32) {
        table.pointee.transmit_ready(instance, queue)
    }
}

extension Device {
    /// The net class's host half, once the host accepted the plugin's
    /// (from the first callback after init on); nil before, or elsewhere.
    public var netHost: NetHost? {
        hostExtension(DH_NET_EXTENSION).map {
            NetHost(table: $0.assumingMemoryBound(to: dh_net_host.self), instance: instance)
        }
    }
}
