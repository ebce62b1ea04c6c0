import CDrvHostSDK

/// The block class ("drvhost.block/1", drvhost/block.h) in Swift: a driver
/// that conforms to BlockDriver becomes a Linux disk, /dev/ublkbN.
public protocol BlockDriver: Driver {
    /// The disk's shape, asked once after init (bus mastering is on then).
    /// The same after every attach: the disk was made with it.
    var blockGeometry: BlockGeometry { get }
    /// Start one request on the device; throw to fail it at once. Finish
    /// it later with BlockHost.complete, usually from interrupt().
    func submit(_ request: BlockRequest) throws(DriverError)
}

public struct BlockGeometry: Equatable, Sendable {
    /// Logical blocks.
    public var capacity: UInt64
    /// 512, 1024, 2048 or 4096.
    public var logicalBlockSize: UInt32
    public var queueCount: UInt32
    public var queueDepth: UInt32
    /// Bytes per READ or WRITE, a multiple of 4096.
    public var maxTransfer: UInt32
    /// A volatile write cache: the host sends FLUSH.
    public var flushes: Bool
    /// DISCARD of at most this many blocks per request; 0: none.
    public var maxDiscardBlocks: UInt32
    public var readOnly: Bool

    public init(capacity: UInt64, logicalBlockSize: UInt32 = 512, queueCount: UInt32 = 1, queueDepth: UInt32 = 64,
                maxTransfer: UInt32 = 128 * 1024, flushes: Bool = false, maxDiscardBlocks: UInt32 = 0, readOnly: Bool = false) {
        self.capacity = capacity
        self.logicalBlockSize = logicalBlockSize
        self.queueCount = queueCount
        self.queueDepth = queueDepth
        self.maxTransfer = maxTransfer
        self.flushes = flushes
        self.maxDiscardBlocks = maxDiscardBlocks
        self.readOnly = readOnly
    }

    var raw: dh_block_device {
        var flags: UInt32 = 0
        if flushes { flags |= UInt32(DH_BLOCK_F_FLUSH) }
        if maxDiscardBlocks > 0 { flags |= UInt32(DH_BLOCK_F_DISCARD) }
        if readOnly { flags |= UInt32(DH_BLOCK_F_READ_ONLY) }
        var device = dh_block_device()
        device.struct_size = UInt32(MemoryLayout<dh_block_device>.size)
        device.flags = flags
        device.capacity = capacity
        device.logical_block_size = logicalBlockSize
        device.queue_count = queueCount
        device.queue_depth = queueDepth
        device.max_transfer = maxTransfer
        device.max_discard_blocks = maxDiscardBlocks
        return device
    }
}

/// One request from the host. Its buffer is the host's DMA memory,
/// contiguous on the bus: point the device at `busAddress`.
public struct BlockRequest {
    public enum Operation: Equatable, Sendable { case read, write, flush, discard }

    public let queue: UInt32
    public let tag: UInt32
    public let operation: Operation
    /// WRITE: durable before completion.
    public let forceUnitAccess: Bool
    public let block: UInt64
    public let blocks: UInt32
    /// READ and WRITE: the data (CPU view); nil otherwise.
    public let buffer: UnsafeMutableRawBufferPointer?
    public let busAddress: UInt64

    init?(_ raw: dh_block_request, blockSize: UInt32) {
        switch raw.op {
        case UInt32(DH_BLOCK_READ.rawValue): operation = .read
        case UInt32(DH_BLOCK_WRITE.rawValue): operation = .write
        case UInt32(DH_BLOCK_FLUSH.rawValue): operation = .flush
        case UInt32(DH_BLOCK_DISCARD.rawValue): operation = .discard
        default: return nil
        }
        queue = raw.queue
        tag = raw.tag
        forceUnitAccess = raw.flags & UInt32(DH_BLOCK_REQ_FUA) != 0
        block = raw.block
        blocks = raw.blocks
        buffer = raw.buffer.map { UnsafeMutableRawBufferPointer(start: $0, count: Int(raw.blocks) * Int(blockSize)) }
        busAddress = raw.bus_addr
    }
}

/// The host's half: how a BlockDriver finishes its requests.
public struct BlockHost {
    let table: UnsafePointer<dh_block_host>
    let instance: OpaquePointer

    /// Finish request (queue, tag): nil for success, or the error the
    /// program sees. False if no such request was in flight.
    @discardableResult
    public func complete(queue: UInt32, tag: UInt32, error: DriverError? = nil) -> Bool {
        table.pointee.complete(instance, queue, tag, error?.code ?? DH_OK) == DH_OK
    }
}

extension Device {
    /// The block class's host half, once the host accepted the plugin's
    /// (from the first callback after init on); nil before, or elsewhere.
    public var blockHost: BlockHost? {
        hostExtension(DH_BLOCK_EXTENSION).map {
            BlockHost(table: $0.assumingMemoryBound(to: dh_block_host.self), instance: instance)
        }
    }
}
