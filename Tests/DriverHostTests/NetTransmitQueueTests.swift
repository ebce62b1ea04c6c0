import CDrvHost
@testable import DriverHostCore
import DrvHostSystem
import Glibc
import Testing

/// NetTransmitQueue's reads, on a SOCK_SEQPACKET pair: like a TAP queue,
/// one read is one frame and an empty queue says EAGAIN.
@Suite struct NetTransmitQueueTests {
    private let maxFrame = 1522

    private func pair() throws -> (queue: NetTransmitQueue, peer: Descriptor) {
        var ends: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0)
        return (NetTransmitQueue(index: 0, tap: Descriptor(taking: ends[0]), maxFrame: maxFrame), Descriptor(taking: ends[1]))
    }

    private func send(_ peer: Descriptor, frames: Int, length: Int = 60) throws {
        var frame = [UInt8](repeating: 0xab, count: length)
        for i in 0..<frames {
            frame[0] = UInt8(truncatingIfNeeded: i)
            try #require(write(peer.raw, &frame, length) == length)
        }
    }

    private func readable(_ queue: NetTransmitQueue) -> Bool {
        var fd = pollfd(fd: queue.tap.raw, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) == 1
    }

    @Test func aLoneFrameCostsOneReadNotAnEmptyOneAfterIt() throws {
        let (queue, peer) = try pair()
        var dropped: UInt64 = 0
        try send(peer, frames: 1)
        let drained = try queue.fill(maxFrame: maxFrame, oversized: &dropped)
        #expect(queue.pending == 1)
        // Stopped at its limit of one frame: no read was spent on EAGAIN.
        #expect(!drained)
        #expect(!readable(queue))
    }

    @Test func framesLeftBehindKeepTheQueueReadableAndTheLimitGrows() throws {
        let (queue, peer) = try pair()
        var dropped: UInt64 = 0
        try send(peer, frames: 7)
        var got: [Int] = []
        var limits: [Int] = []
        while true {
            limits.append(queue.readLimit)
            let drained = try queue.fill(maxFrame: maxFrame, oversized: &dropped)
            got.append(queue.pending)
            _ = queue.consume(queue.pending)
            if drained || !readable(queue) { break }
        }
        // 1, 2, 4 frames: every frame read once, none lost, in order.
        #expect(got == [1, 2, 4])
        #expect(limits == [1, 2, 4])
        #expect(queue.readLimit == 8)
        // Empty now: the next fill finds EAGAIN and expects little again.
        #expect(try queue.fill(maxFrame: maxFrame, oversized: &dropped))
        #expect(queue.pending == 0)
        #expect(queue.readLimit == 1)
    }

    @Test func aDrainedQueueExpectsAsManyAsItFound() throws {
        let (queue, peer) = try pair()
        var dropped: UInt64 = 0
        try send(peer, frames: 7)
        for _ in 0..<3 {   // 1, 2 and 4 frames, each fill at its limit: the limit grows to 8
            #expect(try !queue.fill(maxFrame: maxFrame, oversized: &dropped))
            _ = queue.consume(queue.pending)
        }
        #expect(queue.readLimit == 8)
        try send(peer, frames: 5)
        #expect(try queue.fill(maxFrame: maxFrame, oversized: &dropped))
        #expect(queue.pending == 5)
        #expect(queue.readLimit == 5)
    }

    @Test func theLimitNeverPassesABatch() throws {
        let (queue, peer) = try pair()
        var dropped: UInt64 = 0
        try send(peer, frames: 70)
        var total = 0
        while readable(queue) {
            _ = try queue.fill(maxFrame: maxFrame, oversized: &dropped)
            #expect(queue.pending <= NetTransmitQueue.batch)
            #expect(queue.readLimit <= NetTransmitQueue.batch)
            total += queue.consume(queue.pending).frames
        }
        #expect(total == 70)
    }

    @Test func anOversizedFrameIsDroppedAndCountedWithinTheLimit() throws {
        let (queue, peer) = try pair()
        var dropped: UInt64 = 0
        try send(peer, frames: 1, length: maxFrame + 1)
        try send(peer, frames: 1)
        _ = try queue.fill(maxFrame: maxFrame, oversized: &dropped)
        #expect(dropped == 1)
        #expect(queue.pending == 0)
        _ = try queue.fill(maxFrame: maxFrame, oversized: &dropped)
        #expect(queue.pending == 1)
    }

    @Test func theStandbysWarmUpLeavesNoDescriptorOpen() throws {
        // Other suites open descriptors meanwhile, a few at a time: a leak
        // of even one per run stands out over 200 runs.
        let before = try openDescriptors()
        for _ in 0..<200 {
            StandbyWarmUp.netFramePath()
            StandbyWarmUp.deviceOpen(bdf: "0000:00:00.0")
        }
        #expect(try openDescriptors() < before + 100)
    }

    private func openDescriptors() throws -> Int {
        guard let dir = opendir("/proc/self/fd") else { throw SystemCallError.last("opendir") }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return count
    }
}
