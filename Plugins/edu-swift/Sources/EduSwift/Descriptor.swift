import DrvHostSDK

extension EduDriver {
    /// What the plugin declares: the same programs and commands as
    /// Plugins/edu, and a few that show what the Swift SDK adds.
    static var plugin: Plugin<EduDriver> { Plugin(
        name: "edu-swift",
        version: "1.1.0",
        matches: [.id(vendor: Edu.vendor, device: Edu.device)],
        interrupts: .intxShared,
        // In the top half: not ours if nothing is pending; snapshot the cause
        // and acknowledge exactly those bits, so interrupt() sees each cause once.
        ack: [
            .read32(Edu.Register.irqStatus),
            .notMineIfZero,
            .snapshot,
            .write32(Edu.Register.irqAck),
        ],
        // Leave the device quiet: no factorial interrupt, no DMA running (edu
        // cannot abort one, so wait for it), nothing pending; then the marker.
        release: [
            .write32(Edu.Register.status, value: 0),
            .poll32(Edu.Register.dmaCommand, mask: Edu.dmaRun, equals: 0, timeoutMicroseconds: 300_000),
            .write32(Edu.Register.dmaCommand, value: 0),
            .poll32(Edu.Register.status, mask: Edu.statusComputing, equals: 0, timeoutMicroseconds: 100_000),
            .read32(Edu.Register.irqStatus),
            .write32(Edu.Register.irqAck),
            .write32(Edu.Register.liveness, value: Edu.releaseMarker),
        ]
    ) {
        Command("factorial", help: "n! computed by the device, with its completion interrupt") {
            (edu: EduDriver, n: UInt32) -> UInt64 in edu.factorial(n)
        }
        Command("liveness", help: "write the liveness register, read it back (the bitwise NOT)") {
            (edu: EduDriver, value: UInt32) -> UInt32 in edu.liveness(value)
        }
        Command("dma_selftest", help: "DMA 2 KiB to the device and back; 0 if intact, else bytes wrong") {
            (edu: EduDriver, seed: UInt32) -> Int32 in edu.dmaSelfTest(seed: seed)
        }
        Command("pingpong", help: "n raise/interrupt round trips; returns n if none lost or duplicated") {
            (edu: EduDriver, count: UInt32) -> UInt32 in edu.pingPong(count)
        }
        Command("roundtrip_ns", help: "percentile of the last pingpong's raise-to-interrupt() time") {
            (edu: EduDriver, percentile: UInt32) -> UInt64 in edu.roundTripNs(percentile: percentile)
        }
        // What C plugins could always do, now in Swift too.
        Command("describe", help: "the device in one line: address, revision, BARs, interrupt line") {
            (edu: EduDriver) -> Text<96> in Text(edu.describe())
        }
        Command("dma_peek", help: "n bytes (at most 64) of the DMA buffer from offset, after dma_selftest") {
            (edu: EduDriver, offset: UInt16, count: UInt8) -> Result<Bytes<64>, DriverError> in edu.dmaPeek(offset, count)
        }
        Command("id", help: "the id register, in hex") {
            (edu: EduDriver) -> Hex<UInt32> in Hex(edu.device.read(Edu.Register.id))
        }
        Command("registers", help: "id, status and interrupt status registers and the restart count, in one call") {
            (edu: EduDriver) -> EduRegisters in edu.registers()
        }
        Command("heartbeat", help: "a periodic timer every ms milliseconds; returns after n ticks with the ticks seen") {
            (edu: EduDriver, milliseconds: UInt32, ticks: UInt32) -> UInt32 in edu.heartbeat(every: milliseconds, ticks: ticks)
        }
        // The ABI check the host's test plugin has too: every argument
        // register class and width in one call.
        Command("mix", help: "x*4 + a - b + c/2 + d*3 - e") {
            (_: EduDriver, a: UInt8, b: Int16, x: Double, c: UInt32, d: Int64, e: UInt16) -> Double in
            x * 4 + Double(a) - Double(b) + Double(c) / 2 + Double(d) * 3 - Double(e)
        }
    }
    }
}

/// The one symbol driverhost looks up (plugin ABI 1.1).
@_cdecl("dh_plugin_get")
public func pluginDescriptor() -> UnsafeRawPointer {
    EduDriver.plugin.export()
}
