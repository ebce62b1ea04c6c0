import DrvHostSDK

extension EduDriver {
    /// What the plugin declares: the same programs and commands as Plugins/edu.
    static var plugin: Plugin<EduDriver> { Plugin(
        name: "edu-swift",
        version: "1.0.0",
        matches: [.id(vendor: Edu.vendor, device: Edu.device)],
        interrupts: .intxShared,
        // In the top half: not ours if nothing is pending; snapshot the cause
        // and acknowledge exactly those bits, so interrupt() sees each cause once.
        ack: [
            .read32(bar: 0, UInt32(Edu.Register.irqStatus)),
            .notMineIfZero,
            .snapshot,
            .write32(bar: 0, UInt32(Edu.Register.irqAck)),
        ],
        // Leave the device quiet: no factorial interrupt, no DMA running (edu
        // cannot abort one, so wait for it), nothing pending; then the marker.
        release: [
            .write32(bar: 0, UInt32(Edu.Register.status), value: 0),
            .poll32(bar: 0, UInt32(Edu.Register.dmaCommand), mask: Edu.dmaRun, equals: 0, timeoutMicroseconds: 300_000),
            .write32(bar: 0, UInt32(Edu.Register.dmaCommand), value: 0),
            .poll32(bar: 0, UInt32(Edu.Register.status), mask: Edu.statusComputing, equals: 0, timeoutMicroseconds: 100_000),
            .read32(bar: 0, UInt32(Edu.Register.irqStatus)),
            .write32(bar: 0, UInt32(Edu.Register.irqAck)),
            .write32(bar: 0, UInt32(Edu.Register.liveness), value: Edu.releaseMarker),
        ],
        commands: [
            Command("factorial", help: "n! computed by the device, with its completion interrupt") {
                (edu: EduDriver, n: UInt32) -> UInt64 in edu.factorial(n)
            },
            Command("liveness", help: "write the liveness register, read it back (the bitwise NOT)") {
                (edu: EduDriver, value: UInt32) -> UInt32 in edu.liveness(value)
            },
            Command("dma_selftest", help: "DMA 2 KiB to the device and back; 0 if intact, else bytes wrong") {
                (edu: EduDriver, seed: UInt32) -> Int32 in edu.dmaSelfTest(seed: seed)
            },
            Command("pingpong", help: "n raise/interrupt round trips; returns n if none lost or duplicated") {
                (edu: EduDriver, count: UInt32) -> UInt32 in edu.pingPong(count)
            },
            Command("roundtrip_ns", help: "percentile of the last pingpong's raise-to-interrupt() time") {
                (edu: EduDriver, percentile: UInt32) -> UInt64 in edu.roundTripNs(percentile: percentile)
            },
        ])
    }
}

/// The one symbol driverhost looks up (plugin ABI 1.1).
@_cdecl("dh_plugin_get")
public func pluginDescriptor() -> UnsafeRawPointer {
    EduDriver.plugin.export()
}
