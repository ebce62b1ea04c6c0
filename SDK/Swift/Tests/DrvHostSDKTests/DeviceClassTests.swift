import CDrvHostSDK
@testable import DrvHostSDK
import Testing

/// The block and net classes as a Swift driver offers them: the C halves
/// the host reads, requests and frames reaching the driver through those
/// C function pointers, and completions and received frames reaching a
/// (fake) host's half.
@Suite(.serialized) struct DeviceClassTests {
    /// What the fake host's halves were told.
    nonisolated(unsafe) static var completed: [(UInt32, UInt32, Int32)] = []
    nonisolated(unsafe) static var received: [[UInt8]] = []
    nonisolated(unsafe) static let blockHalf: UnsafeMutablePointer<dh_block_host> = {
        let half = UnsafeMutablePointer<dh_block_host>.allocate(capacity: 1)
        half.initialize(to: dh_block_host())
        return half
    }()
    nonisolated(unsafe) static let netHalf: UnsafeMutablePointer<dh_net_host> = {
        let half = UnsafeMutablePointer<dh_net_host>.allocate(capacity: 1)
        half.initialize(to: dh_net_host())
        return half
    }()

    final class Disk: BlockDriver {
        let device: Device
        var submitted: [BlockRequest] = []
        init(device: Device) throws(DriverError) { self.device = device }
        var blockGeometry: BlockGeometry { BlockGeometry(capacity: 2048, queueDepth: 8, flushes: true) }
        func submit(_ request: BlockRequest) throws(DriverError) {
            guard request.block < 2048 else { throw .invalid }
            submitted.append(request)
            device.blockHost?.complete(queue: request.queue, tag: request.tag)
        }
    }

    final class Nic: NetDriver {
        let device: Device
        var sent: [[UInt8]] = []
        init(device: Device) throws(DriverError) { self.device = device }
        var netInterface: NetInterface { NetInterface(mac: (0x52, 0x54, 0, 1, 2, 3), mtu: 1500) }
        func transmit(queue: UInt32, frames: NetFrames) -> Int {
            let room = 1
            for frame in frames.prefix(room) { sent.append(Array(frame)) }
            // Loop it back to the host, as a NIC on a cable to itself would.
            device.netHost?.receive(queue: queue, frames: Array(frames.prefix(room)))
            return min(room, frames.count)
        }
    }

    func host() -> UnsafeMutablePointer<dh_host> {
        DeviceClassTests.blockHalf.pointee.struct_size = UInt32(MemoryLayout<dh_block_host>.size)
        DeviceClassTests.blockHalf.pointee.complete = { _, queue, tag, status in
            DeviceClassTests.completed.append((queue, tag, status))
            return DH_OK
        }
        DeviceClassTests.netHalf.pointee.struct_size = UInt32(MemoryLayout<dh_net_host>.size)
        DeviceClassTests.netHalf.pointee.receive = { _, _, frames, count in
            for frame in UnsafeBufferPointer(start: frames, count: Int(count)) {
                DeviceClassTests.received.append(Array(UnsafeRawBufferPointer(start: frame.data, count: Int(frame.length))))
            }
            return count
        }
        let table = UnsafeMutablePointer<dh_host>.allocate(capacity: 1)
        table.initialize(to: dh_host())
        table.pointee.struct_size = UInt32(MemoryLayout<dh_host>.size)
        table.pointee.get_extension = { _, id in
            let name = String(cString: id!)
            if name == DH_BLOCK_EXTENSION { return UnsafeRawPointer(DeviceClassTests.blockHalf) }
            if name == DH_NET_EXTENSION { return UnsafeRawPointer(DeviceClassTests.netHalf) }
            return nil
        }
        return table
    }

    @Test func aBlockDriverOffersItsGeometryAndGetsRequestsThroughTheCHalf() throws {
        DeviceClassTests.completed = []
        let table = host()
        defer { table.deallocate() }
        let disk = try Disk(device: Device(host: table, instance: OpaquePointer(bitPattern: 0x1000)!))
        let box = TypedDriverBox(driver: disk, commands: [])
        let context = Unmanaged.passUnretained(box as DriverBox).toOpaque()
        #expect(box.pluginExtension(DH_NET_EXTENSION) == nil)
        let half = try #require(box.pluginExtension(DH_BLOCK_EXTENSION)).assumingMemoryBound(to: dh_block_device.self).pointee
        #expect(half.struct_size == UInt32(MemoryLayout<dh_block_device>.size))
        #expect(half.capacity == 2048 && half.logical_block_size == 512 && half.queue_depth == 8)
        #expect(half.flags == UInt32(DH_BLOCK_F_FLUSH))

        let submit = try #require(half.submit)
        var data = [UInt8](repeating: 0, count: 1024)
        let answers: (Int32, Int32) = data.withUnsafeMutableBytes { buffer in
            var read = dh_block_request(queue: 0, tag: 5, op: UInt32(DH_BLOCK_READ.rawValue), flags: 0, block: 10, blocks: 2,
                                        reserved: 0, buffer: buffer.baseAddress, bus_addr: 0xab000)
            var beyond = read
            beyond.block = 4096
            return (submit(context, &read), submit(context, &beyond))
        }
        #expect(answers.0 == DH_OK && answers.1 == DH_ERR_INVALID)
        let request = try #require(disk.submitted.first)
        #expect(disk.submitted.count == 1 && request.operation == .read && request.block == 10)
        #expect(request.buffer?.count == 1024 && request.busAddress == 0xab000)
        #expect(DeviceClassTests.completed.map { "\($0.0):\($0.1):\($0.2)" } == ["0:5:0"])
    }

    @Test func aNetDriverTransmitsFromTheCHalfAndHandsFramesToTheHost() throws {
        DeviceClassTests.received = []
        let table = host()
        defer { table.deallocate() }
        let nic = try Nic(device: Device(host: table, instance: OpaquePointer(bitPattern: 0x1000)!))
        let box = TypedDriverBox(driver: nic, commands: [])
        let context = Unmanaged.passUnretained(box as DriverBox).toOpaque()
        let half = try #require(box.pluginExtension(DH_NET_EXTENSION)).assumingMemoryBound(to: dh_net_device.self).pointee
        #expect(half.mtu == 1500 && half.queue_count == 1 && half.mac.0 == 0x52 && half.mac.5 == 3)
        let one: [UInt8] = Array(repeating: 1, count: 60), two: [UInt8] = Array(repeating: 2, count: 64)
        let transmit = try #require(half.transmit)
        let taken: UInt32 = one.withUnsafeBytes { a in
            two.withUnsafeBytes { b in
                let frames = [dh_net_frame(data: a.baseAddress, length: 60, flags: 0),
                              dh_net_frame(data: b.baseAddress, length: 64, flags: 0)]
                return frames.withUnsafeBufferPointer { transmit(context, 0, $0.baseAddress, 2) }
            }
        }
        #expect(taken == 1)  // a full ring: the rest stays with the host
        #expect(nic.sent == [one] && DeviceClassTests.received == [one])
    }
}
