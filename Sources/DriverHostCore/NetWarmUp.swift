import CDrvHost
import Glibc
import DrvHostSystem

/// A standby's dry run of the net class's frame path, before any crash
/// needs it: a queue (NetTransmitQueue) on a SOCK_SEQPACKET pair instead of
/// a TAP queue (one read, one frame; EAGAIN when empty), watched by an epoll
/// set of its own; a frame read, consumed and written back, and the empty
/// read that ends a batch. A restart runs the standby's code for the first
/// time in that process's life; in the TCG guest every first run of a code
/// path costs its translation and its pages' faults, on the vCPU the outage
/// waits for. Done here, it costs the standby's idle time instead. No device
/// and no interface are touched; a failure only means the real run pays as
/// before.
enum NetWarmUp {
    static func run() {
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
        _ = Log.milliseconds(since: cdh_monotonic_ns())
    }
}
