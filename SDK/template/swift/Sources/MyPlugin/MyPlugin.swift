import DrvHostSDK

/// A drvhost plugin template for QEMU's edu device (1234:11e8), in Swift:
/// the twin of SDK/template/c/myplugin.c. Copy it, rename it, and change the
/// registers, programs and commands for your device.
final class MyPlugin: Driver {
    enum Regs {
        static let id = Register<UInt32>(bar: 0, 0x00)          // edu: 0xRRrr00ed
        static let irqStatus = Register<UInt32>(bar: 0, 0x24)   // pending interrupt bits
        static let irqRaise = Register<UInt32>(bar: 0, 0x60)    // write v: pending |= v
        static let irqAck = Register<UInt32>(bar: 0, 0x64)      // write v: pending &= ~v
    }

    let device: Device
    private var lastStatus: UInt32 = 0
    private var interrupts = 0
    private var ticks: UInt32 = 0

    /// attach: check that this is the device we expect.
    init(device: Device) throws(DriverError) {
        guard device.read(Regs.id) & 0xff == 0xed else {
            device.log(.error, "not an edu device")
            throw .device
        }
        self.device = device
        device.log(.info, "myplugin attached")
    }

    /// The kernel already ran the ACK program: snapshots[0] is the status it read.
    func interrupt(_ event: Event) {
        interrupts += 1
        if let status = event.snapshots.first { lastStatus = UInt32(truncatingIfNeeded: status) }
    }

    /// A timer started with device.startTimer expired.
    func timer(_ id: Int) {
        ticks += 1
    }

    /// Raise an interrupt with these bits, wait for it, return what the ACK
    /// program saw (0 if it never came).
    func raise(_ bits: UInt32) -> UInt32 {
        let before = interrupts
        lastStatus = 0
        device.write(Regs.irqRaise, bits)
        while interrupts == before {
            guard (try? device.waitEvents(for: .seconds(2))) == true else { return 0 }
        }
        return lastStatus
    }

    /// Tick every `ms` milliseconds until `count` ticks came; the ticks seen.
    func tick(every ms: UInt32, count: UInt32) -> UInt32 {
        ticks = 0
        guard (try? device.startTimer(0, after: .milliseconds(ms), every: .milliseconds(ms))) != nil else { return 0 }
        defer { device.stopTimer(0) }
        while ticks < count {
            guard (try? device.waitEvents(for: .seconds(2))) == true else { break }
        }
        return ticks
    }

    static var plugin: Plugin<MyPlugin> {
        Plugin(
            name: "myplugin",
            version: "0.1.0",
            matches: [.id(vendor: 0x1234, device: 0x11e8)],
            interrupts: .intxShared,
            // Runs in the interrupt top half: ours? acknowledge, remember the cause.
            ack: [.read32(bar: 0, 0x24), .notMineIfZero, .snapshot, .write32(bar: 0, 0x64)],
            // Runs when driverhost goes away, crash included: leave nothing pending.
            release: [.read32(bar: 0, 0x24), .write32(bar: 0, 0x64)]
        ) {
            Command("id", help: "the device's id register") { (me: MyPlugin) -> Hex<UInt32> in
                Hex(me.device.read(Regs.id))
            }
            Command("raise", help: "raise an interrupt, return its status") { (me: MyPlugin, bits: UInt32) -> UInt32 in
                me.raise(bits)
            }
            Command("tick", help: "a periodic timer: ticks seen once count came") { (me: MyPlugin, ms: UInt32, count: UInt32) -> UInt32 in
                me.tick(every: ms, count: count)
            }
        }
    }
}

/// The one symbol driverhost looks up.
@_cdecl("dh_plugin_get")
public func pluginDescriptor() -> UnsafeRawPointer {
    MyPlugin.plugin.export()
}
