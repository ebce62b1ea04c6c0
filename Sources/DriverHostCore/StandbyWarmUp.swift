import CDrvHost
import Glibc
import DrvHostSystem
import DevSimClient

/// A standby's dry run, while it waits, of the code a restart runs first
/// after its start: in the TCG guest every first run of a code path in a
/// process costs its translation and its pages' faults, on the vCPU the
/// outage waits for. Done here, that costs the standby's idle time instead.
/// Nothing is touched that the instance's device or interface could notice;
/// a failure only means the real run pays as before.
enum StandbyWarmUp {
    /// The device's open, short of the device: opening and reading its sysfs
    /// attribute (the same file ProxyDevice reads) and turning an INFO
    /// answer into DeviceInfo and its safety report.
    static func deviceOpen(bdf: String?) {
        guard let bdf else { return }
        if let file = try? Descriptor.open("/sys/bus/pci/devices/\(bdf)/irq", flags: O_RDONLY) { file.close() }
        _ = ProxyDevice.irqLine(bdf: bdf)
        _ = DeviceInfo(drvproxy_info()).safetyReport
    }

    /// The net class's frame path: a queue (NetTransmitQueue) on a
    /// SOCK_SEQPACKET pair instead of a TAP queue (one read, one frame;
    /// EAGAIN when empty), watched by an epoll set of its own; a frame
    /// read, consumed and written back, and the empty read that ends a
    /// batch.
    static func netFramePath() {
        var ends: [Int32] = [-1, -1]
        let type = Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, type, 0, &ends) == 0 else { return }
        let readEnd = Descriptor(taking: ends[0]), writeEnd = Descriptor(taking: ends[1])
        guard let epoll = try? Epoll() else { return }
        let ready = UnsafeMutablePointer<cdh_ready>.allocate(capacity: Epoll.maxReady)
        defer { ready.deallocate() }
        let maxFrame = 1522
        let queue = NetTransmitQueue(index: 0, tap: readEnd, maxFrame: maxFrame)
        var dropped: UInt64 = 0
        let frame = UnsafeMutableRawPointer.allocate(byteCount: 60, alignment: 8)
        defer { frame.deallocate() }
        frame.initializeMemory(as: UInt8.self, repeating: 0, count: 60)
        guard (try? epoll.add(readEnd.raw, token: 1)) != nil else { return }
        defer { try? epoll.remove(readEnd.raw) }
        for _ in 0..<2 {
            guard write(writeEnd.raw, frame, 60) == 60 else { return }
            _ = try? epoll.wait(into: ready, timeoutMs: 0)
            // One frame, then the queue found empty (EAGAIN).
            _ = try? queue.fill(maxFrame: maxFrame, oversized: &dropped)
            if queue.pending > 0, let data = queue.frames[queue.first].data {
                _ = write(writeEnd.raw, data, Int(queue.frames[queue.first].length))
            }
            _ = queue.consume(queue.pending)
            _ = try? queue.fill(maxFrame: maxFrame, oversized: &dropped)
            _ = queue.consume(queue.pending)
        }
        // The attach's own timing line formats this.
        _ = Log.milliseconds(since: cdh_monotonic_ns())
    }
}
