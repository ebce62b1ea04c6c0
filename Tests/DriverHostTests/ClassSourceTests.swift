import CDrvHost
@testable import DriverHostCore
import Glibc
import Testing

/// A device class's descriptors (the block class's io_uring rings) are
/// served by the instance's loop, and the class gets a call after each batch
/// to submit what the batch queued.
@Suite struct ClassSourceTests {
    @Test func servesClassDescriptorsAndEndsEachBatch() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        let fd = cdh_eventfd_create()
        #expect(fd >= 0)
        defer { close(fd) }
        var served = 0, batches = 0
        try instance.loop.addClassSource(fd) {
            var count: UInt64 = 0
            _ = read(fd, &count, 8)
            served += 1
            return 0
        }
        instance.loop.afterBatch = { batches += 1 }
        defer { instance.loop.afterBatch = nil }
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
        _ = try instance.loop.waitNested(timeoutNs: 2_000_000_000)
        #expect(served == 1)
        #expect(batches >= 1)

        // Once removed, the descriptor is not watched any more.
        instance.loop.removeClassSource(fd)
        _ = write(fd, &one, 8)
        _ = try instance.loop.waitNested(timeoutNs: 20_000_000)
        #expect(served == 1)
    }
}
