import CDrvHost
import Glibc
import DrvHostSystem

/// The block class's I/O path, all on the loop thread:
///
///   kernel request (FETCH/COMMIT_AND_FETCH answers)
///     READ:  plugin submit -> complete -> commit (ublk copies the data out)
///     WRITE: (ublk copied the data in) plugin submit -> complete -> commit
///     FLUSH, DISCARD: plugin submit -> complete -> commit
///
/// ublk copies between the block layer and the tag's buffer inside the
/// FETCH's answer and the COMMIT (cdh_ublk_fetch): a request costs no
/// system call of its own. Commits are queued on the ring and submitted
/// once per loop batch (EventLoop.afterBatch), so a burst of completions
/// from one interrupt costs one system call. Without pinnable DMA memory
/// the only copy here is between a slot's bounce and DMA halves.
///
/// The path reads the class's state through `let` pointers and arrays: no
/// allocation, exclusivity check or reference counting per request.
extension BlockClass {
    /// The ring has completions: requests from the kernel.
    func serveCompletions() -> UInt64 {
        guard let server else { return 0 }
        var completion = cdh_ublk_completion()
        var callbacks: UInt64 = 0
        while cdh_ublk_next(server, &completion) == 1 {
            guard !stopped, completion.kind == UInt32(CDH_UBLK_REQUEST.rawValue),
                  completion.queue < queues, completion.tag < depth else { continue }
            let slot = Int(completion.queue) * Int(depth) + Int(completion.tag)
            callbacks += arrived(slot, queue: completion.queue, tag: completion.tag, result: completion.result)
        }
        if callbacks > 0, let submitted = submittedFunction {
            // The batch is over: the plugin starts it on the device at once.
            let context = instance.context
            instance.watchdog.guarding(submittedBound) { submitted(context) }
            callbacks += 1
        }
        return callbacks
    }

    /// Submits what was queued (loop batch end).
    func submitQueued() {
        guard let server else { return }
        let result = cdh_ublk_submit(server)
        if result < 0 { instance.log(.error, "block class: /dev/\(deviceName): \(SystemCallError(-result, call: "io_uring_enter"))") }
    }

    private func arrived(_ slot: Int, queue: UInt16, tag: UInt16, result: Int32) -> UInt64 {
        guard result == UBLK_IO_RES_OK else {
            // UBLK_IO_RES_ABORT: the disk is stopping; this tag is done.
            states[slot] = .gone
            return 0
        }
        let iod = cdh_ublk_iod(server, queue, tag)!.pointee
        let op = iod.op_flags & 0xff
        let shift = geometry.sectorShift
        var request = dh_block_request()
        request.queue = UInt32(queue)
        request.tag = UInt32(tag)
        request.block = iod.start_sector >> shift
        request.blocks = UInt32(truncatingIfNeeded: UInt64(iod.nr_sectors) >> shift)
        switch op {
        case UInt32(UBLK_IO_OP_READ), UInt32(UBLK_IO_OP_WRITE):
            request.op = op == UInt32(UBLK_IO_OP_READ) ? UInt32(DH_BLOCK_READ.rawValue) : UInt32(DH_BLOCK_WRITE.rawValue)
            if op == UInt32(UBLK_IO_OP_WRITE), iod.op_flags & UInt32(UBLK_IO_F_FUA) != 0 { request.flags = UInt32(DH_BLOCK_REQ_FUA) }
            request.buffer = buffers.cpu[slot]
            request.bus_addr = buffers.bus[slot]
        case UInt32(UBLK_IO_OP_FLUSH):
            request.op = UInt32(DH_BLOCK_FLUSH.rawValue)
            request.block = 0
            request.blocks = 0
        case UInt32(UBLK_IO_OP_DISCARD) where geometry.hasDiscard:
            request.op = UInt32(DH_BLOCK_DISCARD.rawValue)
        default:
            commit(slot, -EOPNOTSUPP)
            return 0
        }
        requests[slot] = request
        if buffers.bounced, request.op == UInt32(DH_BLOCK_WRITE.rawValue) {
            buffers.cpu[slot].copyMemory(from: buffers.ublk[slot], byteCount: Int(bytes(request)))
        }
        return submit(slot)
    }

    private func bytes(_ request: dh_block_request) -> UInt32 {
        request.blocks * geometry.logicalBlockSize
    }

    /// Hands the request to the plugin; an error it answers fails the
    /// request now (and the plugin must not complete it).
    private func submit(_ slot: Int) -> UInt64 {
        states[slot] = .plugin
        let submit = submitFunction, context = instance.context, request = UnsafePointer(requests + slot)
        let status = instance.watchdog.guarding(submitBound) { submit(context, request) }
        if status != DH_OK, states[slot] == .plugin { finish(slot, status: status) }
        return 1
    }

    /// dh_block_host.complete.
    func complete(queue: UInt32, tag: UInt32, status: Int32) -> Int32 {
        guard !stopped, queue < UInt32(queues), tag < UInt32(depth) else { return DH_ERR_NOT_FOUND }
        let slot = Int(queue) * Int(depth) + Int(tag)
        guard states[slot] == .plugin else { return DH_ERR_NOT_FOUND }
        finish(slot, status: status)
        return DH_OK
    }

    private func finish(_ slot: Int, status: Int32) {
        let request = requests[slot]
        guard status == DH_OK else {
            commit(slot, BlockClass.errno(for: status))
            return
        }
        switch request.op {
        case UInt32(DH_BLOCK_READ.rawValue):
            if buffers.bounced { buffers.ublk[slot].copyMemory(from: buffers.cpu[slot], byteCount: Int(bytes(request))) }
            commit(slot, Int32(bitPattern: bytes(request)))
        case UInt32(DH_BLOCK_WRITE.rawValue):
            commit(slot, Int32(bitPattern: bytes(request)))
        default:
            commit(slot, 0)
        }
    }

    /// What the program sees for a plugin's error (block.h).
    static func errno(for status: Int32) -> Int32 {
        switch status {
        case DH_ERR_NO_MEMORY: -ENOSPC
        case DH_ERR_NOT_SUPPORTED: -EOPNOTSUPP
        default: -EIO
        }
    }

    /// Answers the request and fetches the tag's next one.
    private func commit(_ slot: Int, _ result: Int32) {
        guard let server else { return }
        states[slot] = .kernel
        let queue = UInt16(slot / Int(depth)), tag = UInt16(slot % Int(depth))
        let queued = cdh_ublk_commit(server, queue, tag, result, buffers.ublk[slot])
        if queued < 0 { instance.log(.error, "block class: /dev/\(deviceName): cannot queue the answer to request \(queue)/\(tag): \(SystemCallError(-queued, call: "io_uring"))") }
    }

    /// The C entry of dh_block_host.complete: the instance from the handle,
    /// then its block class; a hostile handle or a plugin without the
    /// block class answers an error.
    static let completeEntry: @convention(c) (OpaquePointer?, UInt32, UInt32, Int32) -> Int32 = { inst, queue, tag, status in
        Instance.with(inst, invalid: DH_ERR_INVALID) { instance in
            // A type test, not `as?`: no runtime dynamic cast (a
            // conformance lookup) per completion.
            guard let server = instance.classServer, type(of: server) == BlockClass.self else { return DH_ERR_NOT_FOUND }
            return unsafeDowncast(server as AnyObject, to: BlockClass.self).complete(queue: queue, tag: tag, status: status)
        }
    }
}
