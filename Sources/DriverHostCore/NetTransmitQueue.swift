import CDrvHost
import Glibc
import DrvHostSystem

/// One queue of a TAP interface, host side: the frames the kernel wants sent
/// are read in batches into fixed slots and offered to the plugin from
/// there; what the plugin's ring had no room for waits in its slot until
/// transmit_ready, and meanwhile the queue is not read (backpressure: the
/// kernel queues, then drops, as for a full hardware ring).
final class NetTransmitQueue {
    static let batch = 32

    let index: UInt32
    let tap: Descriptor
    /// The loop's token for this queue's descriptor.
    var token: UInt64 = 0
    /// Not watched: the plugin's ring is full, or a nested wait is running.
    var paused = false
    /// A resume is already queued on the loop.
    var resumeScheduled = false

    private let slotSize: Int
    private let slots: UnsafeMutableRawPointer
    let frames: UnsafeMutablePointer<dh_net_frame>
    /// Frames first..<end are read and not yet taken by the plugin.
    private(set) var first = 0
    private(set) var end = 0

    init(index: UInt32, tap: Descriptor, maxFrame: Int) {
        self.index = index
        self.tap = tap
        // One byte more than the longest frame: a longer one (the interface's
        // MTU raised by hand) shows as such instead of being cut to fit.
        slotSize = (maxFrame + 1 + 63) & ~63
        slots = .allocate(byteCount: slotSize * NetTransmitQueue.batch, alignment: 64)
        frames = .allocate(capacity: NetTransmitQueue.batch)
    }

    deinit {
        slots.deallocate()
        frames.deallocate()
    }

    var pending: Int { end - first }

    /// How many frames the next fill reads at most. A TAP queue cannot say
    /// how much it holds (no FIONREAD on tun), so reading until EAGAIN costs
    /// an empty read per batch: for a lone frame (a ping) half the reads.
    /// Instead a fill reads as many as the last one found, and doubles that
    /// when it found the queue still full; a queue left non-empty stays
    /// readable, and the loop's next epoll_wait (level-triggered) says so.
    private(set) var readLimit = 1

    /// Reads up to readLimit frames (only when nothing is pending); true
    /// if the queue ran dry (EAGAIN) before that. Frames longer than
    /// maxFrame are dropped and counted in `oversized`.
    @discardableResult
    func fill(maxFrame: Int, oversized: inout UInt64) throws(SystemCallError) -> Bool {
        precondition(pending == 0)
        first = 0
        end = 0
        var reads = 0
        var drained = false
        // Ran dry after `end` frames: expect as many next time. Did not:
        // expect more (and read no further now).
        defer { readLimit = drained ? max(1, end) : min(NetTransmitQueue.batch, readLimit * 2) }
        while reads < readLimit {
            reads += 1
            let slot = slots + end * slotSize
            let n: Int
            do {
                n = try systemCall("read TAP queue \(index)") { Glibc.read(tap.raw, slot, slotSize) }
            } catch where error.code == EAGAIN {
                drained = true
                return true
            }
            if n > maxFrame || n == 0 {
                oversized += 1
                continue
            }
            frames[end] = dh_net_frame(data: UnsafeRawPointer(slot), length: UInt32(n), flags: 0)
            end += 1
        }
        return false
    }

    /// The plugin took `count` frames from the front.
    func consume(_ count: Int) -> (frames: Int, bytes: UInt64) {
        var bytes: UInt64 = 0
        for i in first..<(first + count) { bytes += UInt64(frames[i].length) }
        first += count
        return (count, bytes)
    }
}
