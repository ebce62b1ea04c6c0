import CDrvHost
import Glibc
import DrvHostProtocol

/// The plugin's half of "drvhost.block/1" (struct dh_block_device), checked
/// field by field, and what ublk is told about the disk. A plugin must give
/// the same geometry after every attach: a recovered ublk disk keeps its size.
struct BlockGeometry: Equatable {
    let flags: UInt32
    let capacity: UInt64
    let logicalBlockSize: UInt32
    let queueCount: UInt32
    let queueDepth: UInt32
    let maxTransfer: UInt32
    let maxDiscardBlocks: UInt32

    /// log2(logicalBlockSize) - 9: blocks to 512-byte sectors.
    var sectorShift: UInt64 { UInt64(logicalBlockSize.trailingZeroBitCount - 9) }
    var sectors: UInt64 { capacity << sectorShift }
    var hasFlush: Bool { flags & UInt32(DH_BLOCK_F_FLUSH) != 0 }
    var isReadOnly: Bool { flags & UInt32(DH_BLOCK_F_READ_ONLY) != 0 }
    var hasDiscard: Bool { flags & UInt32(DH_BLOCK_F_DISCARD) != 0 && !isReadOnly }

    /// Reads and checks the plugin's half; `reason` names the first bad field.
    init(pluginHalf: UnsafeRawPointer, plugin: String) throws(HostFailure) {
        func invalid(_ reason: String) -> HostFailure {
            HostFailure(.deviceClassFailed, "plugin \(plugin): \(DH_BLOCK_EXTENSION): \(reason)")
        }
        let size = pluginHalf.load(as: UInt32.self)
        guard size >= UInt32(DH_BLOCK_DEVICE_SIZE_1) else {
            throw invalid("struct_size \(size) is smaller than the first revision's struct dh_block_device (\(DH_BLOCK_DEVICE_SIZE_1))")
        }
        let raw = BlockGeometry.load(pluginHalf)
        let known = UInt32(DH_BLOCK_F_FLUSH | DH_BLOCK_F_DISCARD | DH_BLOCK_F_READ_ONLY)
        guard raw.flags & ~known == 0 else { throw invalid("unknown flags 0x\(String(raw.flags & ~known, radix: 16))") }
        guard raw.capacity >= 1 else { throw invalid("capacity is 0") }
        guard [512, 1024, 2048, 4096].contains(raw.logical_block_size) else {
            throw invalid("logical_block_size \(raw.logical_block_size) is not 512, 1024, 2048 or 4096")
        }
        // ublk counts 512-byte sectors in 64 bits.
        guard raw.capacity <= UInt64.max >> (raw.logical_block_size.trailingZeroBitCount - 9) else {
            throw invalid("capacity \(raw.capacity) blocks does not fit in 64-bit sectors")
        }
        guard (1...UInt32(DH_BLOCK_MAX_QUEUES)).contains(raw.queue_count) else {
            throw invalid("queue_count \(raw.queue_count) is not 1..\(DH_BLOCK_MAX_QUEUES)")
        }
        guard (1...UInt32(DH_BLOCK_MAX_DEPTH)).contains(raw.queue_depth) else {
            throw invalid("queue_depth \(raw.queue_depth) is not 1..\(DH_BLOCK_MAX_DEPTH)")
        }
        guard raw.max_transfer % 4096 == 0, (4096...UInt32(DH_BLOCK_MAX_TRANSFER)).contains(raw.max_transfer) else {
            throw invalid("max_transfer \(raw.max_transfer) is not a multiple of 4096 in 4096..\(DH_BLOCK_MAX_TRANSFER)")
        }
        let discard = raw.flags & UInt32(DH_BLOCK_F_DISCARD) != 0
        guard discard == (raw.max_discard_blocks > 0) else {
            throw invalid(discard ? "DH_BLOCK_F_DISCARD needs max_discard_blocks >= 1"
                                  : "max_discard_blocks \(raw.max_discard_blocks) without DH_BLOCK_F_DISCARD")
        }
        guard raw.reserved == 0 else { throw invalid("reserved is not 0") }
        guard raw.submit != nil else { throw invalid("submit is NULL") }
        flags = raw.flags
        capacity = raw.capacity
        logicalBlockSize = raw.logical_block_size
        queueCount = raw.queue_count
        queueDepth = raw.queue_depth
        maxTransfer = raw.max_transfer
        maxDiscardBlocks = raw.max_discard_blocks
    }

    /// The plugin's half as far as its struct_size goes (at least the first
    /// revision's, checked by init): the fields an older plugin's header did
    /// not have read as zero (NULL), and nothing past its struct is read.
    static func load(_ pluginHalf: UnsafeRawPointer) -> dh_block_device {
        let size = Int(pluginHalf.load(as: UInt32.self))
        var half = dh_block_device()
        withUnsafeMutableBytes(of: &half) { bytes in
            bytes.copyMemory(from: UnsafeRawBufferPointer(start: pluginHalf, count: min(size, bytes.count)))
        }
        return half
    }

    /// I/O buffers are DMA memory, queue_depth * max_transfer per queue; a
    /// deep queue of large transfers is cut to this much in all (the
    /// proxy's whole DMA budget is an eighth of RAM by default). Every
    /// restart allocates it again while the disk waits: 16 MiB still gives
    /// 32 requests of 512 KiB in flight.
    static let bufferBudget: UInt64 = 16 << 20

    /// Requests in flight per queue that the buffer budget allows (>= 1).
    func servedDepth(queues: UInt32) -> UInt32 {
        let perTag = UInt64(maxTransfer) * UInt64(queues)
        return UInt32(min(UInt64(queueDepth), max(1, BlockGeometry.bufferBudget / perTag)))
    }

    /// The device ublk is asked to add (it may lower nr_hw_queues to the
    /// CPU count; the caller reads back what it got).
    func deviceInfo(queues: UInt32, depth: UInt32) -> ublksrv_ctrl_dev_info {
        var info = ublksrv_ctrl_dev_info()
        info.nr_hw_queues = UInt16(queues)
        info.queue_depth = UInt16(depth)
        info.max_io_buf_bytes = maxTransfer
        info.dev_id = UInt32.max  // the kernel picks the number
        info.ublksrv_pid = getpid()
        info.flags = UInt64(UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_CMD_IOCTL_ENCODE)
        return info
    }

    var parameters: ublk_params {
        var params = ublk_params()
        params.len = UInt32(MemoryLayout<ublk_params>.size)
        params.types = UInt32(UBLK_PARAM_TYPE_BASIC)
        let shift = UInt8(logicalBlockSize.trailingZeroBitCount)
        var attrs: UInt32 = 0
        if hasFlush { attrs |= UInt32(UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA) }
        if isReadOnly { attrs |= UInt32(UBLK_ATTR_READ_ONLY) }
        params.basic.attrs = attrs
        params.basic.logical_bs_shift = shift
        params.basic.physical_bs_shift = shift
        params.basic.io_min_shift = shift
        params.basic.io_opt_shift = shift
        params.basic.max_sectors = maxTransfer >> 9
        params.basic.dev_sectors = sectors
        if hasDiscard {
            params.types |= UInt32(UBLK_PARAM_TYPE_DISCARD)
            params.discard.discard_granularity = logicalBlockSize
            params.discard.max_discard_sectors = UInt32(clamping: UInt64(maxDiscardBlocks) << sectorShift)
            params.discard.max_discard_segments = 1
        }
        return params
    }

    /// Why an existing ublk disk cannot be this geometry's, or nil if it can.
    func mismatch(info: ublksrv_ctrl_dev_info, params: ublk_params) -> String? {
        let wanted = parameters.basic, have = params.basic
        if have.dev_sectors != wanted.dev_sectors { return "capacity: the disk has \(have.dev_sectors) sectors, the plugin now \(wanted.dev_sectors)" }
        if have.logical_bs_shift != wanted.logical_bs_shift { return "logical block size: the disk has \(1 << have.logical_bs_shift), the plugin now \(logicalBlockSize)" }
        if have.attrs != wanted.attrs { return "flags: the disk has attributes 0x\(String(have.attrs, radix: 16)), the plugin now 0x\(String(wanted.attrs, radix: 16))" }
        if info.max_io_buf_bytes != maxTransfer { return "max_transfer: the disk has \(info.max_io_buf_bytes), the plugin now \(maxTransfer)" }
        // ublk may have served fewer queues than asked (no more than CPUs),
        // and the buffer budget may have cut the depth: the plugin must
        // still know every (queue, tag) the disk has.
        if info.nr_hw_queues == 0 || UInt32(info.nr_hw_queues) > queueCount { return "queues: the disk has \(info.nr_hw_queues), the plugin now \(queueCount)" }
        if info.queue_depth == 0 || UInt32(info.queue_depth) > servedDepth(queues: UInt32(info.nr_hw_queues)) { return "queue depth: the disk has \(info.queue_depth), the plugin now \(queueDepth)" }
        let recovery = UInt64(UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE)
        if info.flags & recovery != recovery || info.flags & UInt64(UBLK_F_USER_COPY) != 0 {
            return "the disk was not made for user recovery with ublk's own copies (flags 0x\(String(info.flags, radix: 16)))"
        }
        return nil
    }
}
