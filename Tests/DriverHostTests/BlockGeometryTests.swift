import CDrvHost
@testable import DriverHostCore
import Testing
import DrvHostProtocol

/// The plugin's half of drvhost.block/1 is checked field by field before any
/// ublk disk is made, and a recovered disk must match the plugin's geometry.
@Suite struct BlockGeometryTests {
    static let submit: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_block_request>?) -> Int32 = { _, _ in DH_OK }

    static func device(_ change: (inout dh_block_device) -> Void = { _ in }) -> dh_block_device {
        var device = dh_block_device()
        device.struct_size = UInt32(MemoryLayout<dh_block_device>.size)
        device.flags = UInt32(DH_BLOCK_F_FLUSH)
        device.capacity = 131_072
        device.logical_block_size = 512
        device.queue_count = 1
        device.queue_depth = 32
        device.max_transfer = 128 << 10
        device.submit = submit
        change(&device)
        return device
    }

    static func geometry(_ device: dh_block_device) throws(HostFailure) -> BlockGeometry {
        var device = device
        return try withUnsafeBytes(of: &device) { bytes throws(HostFailure) in
            try BlockGeometry(pluginHalf: bytes.baseAddress!, plugin: "test")
        }
    }

    static func refusal(_ change: (inout dh_block_device) -> Void) -> String? {
        do {
            _ = try geometry(device(change))
            return nil
        } catch {
            #expect(error.exitCode == .deviceClassFailed)
            return error.message
        }
    }

    @Test func acceptsAWellFormedHalf() throws {
        let geometry = try Self.geometry(Self.device())
        #expect(geometry.sectors == 131_072 && geometry.hasFlush && !geometry.hasDiscard)
        let params = geometry.parameters
        #expect(params.basic.logical_bs_shift == 9 && params.basic.max_sectors == 256 && params.basic.dev_sectors == 131_072)
        #expect(params.basic.attrs & UInt32(UBLK_ATTR_VOLATILE_CACHE) != 0)
    }

    /// A plugin built with the first revision's header (48 bytes, no
    /// `submitted`) is accepted, and nothing past its struct is read: the
    /// bytes after it here are garbage that must not become a function.
    @Test func readsAnOlderPluginsHalfOnlyAsFarAsItGoes() throws {
        let submitted: @convention(c) (UnsafeMutableRawPointer?) -> Void = { _ in }
        var newer = Self.device { $0.submitted = submitted }
        #expect(BlockGeometry.load(&newer).submitted != nil)
        var older = Self.device { $0.struct_size = UInt32(DH_BLOCK_DEVICE_SIZE_1); $0.submitted = submitted }
        #expect(BlockGeometry.load(&older).submitted == nil)
        #expect(try Self.geometry(older).queueDepth == 32)
    }

    @Test func namesTheBadField() {
        #expect(Self.refusal { $0.struct_size = 40 }?.contains("struct_size 40") == true)
        #expect(Self.refusal { $0.flags = 0x80 }?.contains("unknown flags 0x80") == true)
        #expect(Self.refusal { $0.capacity = 0 }?.contains("capacity is 0") == true)
        #expect(Self.refusal { $0.logical_block_size = 520 }?.contains("logical_block_size 520") == true)
        #expect(Self.refusal { $0.queue_count = 17 }?.contains("queue_count 17") == true)
        #expect(Self.refusal { $0.queue_depth = 0 }?.contains("queue_depth 0") == true)
        #expect(Self.refusal { $0.max_transfer = 6000 }?.contains("max_transfer 6000") == true)
        #expect(Self.refusal { $0.max_transfer = 2 << 20 }?.contains("max_transfer 2097152") == true)
        #expect(Self.refusal { $0.flags |= UInt32(DH_BLOCK_F_DISCARD) }?.contains("needs max_discard_blocks") == true)
        #expect(Self.refusal { $0.max_discard_blocks = 8 }?.contains("without DH_BLOCK_F_DISCARD") == true)
        #expect(Self.refusal { $0.reserved = 1 }?.contains("reserved") == true)
        #expect(Self.refusal { $0.submit = nil }?.contains("submit is NULL") == true)
        #expect(Self.refusal { $0.logical_block_size = 4096; $0.capacity = UInt64.max }?.contains("64-bit sectors") == true)
    }

    @Test func cutsTheDepthToTheBufferBudget() throws {
        let deep = try Self.geometry(Self.device { $0.queue_depth = 256; $0.max_transfer = 1 << 20; $0.queue_count = 4 })
        // 16 MiB of 1 MiB slots over 4 queues.
        #expect(deep.servedDepth(queues: 4) == 4)
        #expect(deep.servedDepth(queues: 1) == 16)
        let small = try Self.geometry(Self.device())
        #expect(small.servedDepth(queues: 1) == 32)
    }

    @Test func recoversOnlyTheSameGeometry() throws {
        let geometry = try Self.geometry(Self.device())
        var info = geometry.deviceInfo(queues: 1, depth: 32)
        var params = geometry.parameters
        #expect(geometry.mismatch(info: info, params: params) == nil)
        params.basic.dev_sectors += 8
        #expect(geometry.mismatch(info: info, params: params)?.contains("capacity") == true)
        params = geometry.parameters
        info.queue_depth = 64
        #expect(geometry.mismatch(info: info, params: params)?.contains("queue depth") == true)
        info = geometry.deviceInfo(queues: 1, depth: 32)
        info.flags &= ~UInt64(UBLK_F_USER_RECOVERY_REISSUE)
        #expect(geometry.mismatch(info: info, params: params)?.contains("user recovery") == true)
        // A disk whose server copies with read/write (an older driverhost's)
        // cannot be served by one that lets ublk copy.
        info = geometry.deviceInfo(queues: 1, depth: 32)
        info.flags |= UInt64(UBLK_F_USER_COPY)
        #expect(geometry.mismatch(info: info, params: params)?.contains("ublk's own copies") == true)
    }

    @Test func readsDiskNames() {
        #expect(UblkDisk.id(fromName: "ublkb0") == 0)
        #expect(UblkDisk.id(fromName: "ublkb12") == 12)
        for bad in ["ublkb", "ublkc0", "sda", "ublkb-1", "ublkb1x", "ublkb99999999999"] {
            #expect(UblkDisk.id(fromName: bad) == nil)
        }
    }
}
