import Foundation
import Testing
import TestSupport

/// What the Swift SDK gives a plugin beyond the shared edu suite, through
/// Plugins/edu-swift on devsim: commands called through their real C
/// signature (f64 and every width), text and byte results, hex, timers.
@Suite(.serialized) struct SwiftSDKTests {
    // swift build --package-path Plugins/edu-swift
    static let plugin = "Plugins/edu-swift/.build/debug/libedu-swift.so"

    func call(_ devsim: DevSim, _ calls: [[String]]) throws -> Run {
        try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.builtFile(Self.plugin)]
                              + calls.flatMap { ["--call"] + $0 })
    }

    @Test func anF64AndMixedWidthsArriveByTheRealSignature() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        // f64(u8,i16,f64,u32,i64,u16): x*4 + a - b + c/2 + d*3 - e, as good.so computes it in C.
        let result = try call(devsim, [["mix", "255", "-2", "0.25", "4000000000", "-5000000000", "65535"]])
        #expect(result.status == 0, "\(result.stderr)")
        let x = 0.25, a = 255.0, b = -2.0, c = 4_000_000_000.0, d = -5_000_000_000.0, e = 65535.0
        let expected: Double = x * 4 + a - b + c / 2 + d * 3 - e
        #expect(result.stdout == "mix(255,-2,0.25,4000000000,-5000000000,65535) = \(expected)\n")
    }

    @Test func textBytesHexAndTimers() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try call(devsim, [["id"], ["describe"], ["dma_selftest", "9"], ["dma_peek", "0", "4"], ["heartbeat", "2", "3"],
                                    ["registers"]])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        guard lines.count == 6 else { return }
        #expect(lines[0] == "id() = 0x010000ed")
        #expect(lines[1] == "describe() = edu 1.0 at 0000:00:00.0, BAR0 1024 KiB memory, no IRQ line")
        #expect(lines[2] == "dma_selftest(9) = 0")
        // The self-test's pattern came back: XorShift32 from seed 9, its first four bytes.
        var state: UInt32 = 9
        let pattern = (0..<4).map { _ -> String in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            let byte = String(UInt8(truncatingIfNeeded: state), radix: 16)
            return byte.count == 1 ? "0" + byte : byte
        }.joined()
        #expect(lines[3] == "dma_peek(0,4) = \(pattern)")
        #expect(lines[4] == "heartbeat(2,3) = 3")
        // A record: fields in declaration order, laid out as the host reads them.
        #expect(lines[5] == "registers() = id=0x010000ed status=0x00000000 irq_status=0x00000000 restarts=0")
    }

    @Test func aFailingCommandSaysWhy() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try call(devsim, [["dma_peek", "4090", "64"]])
        #expect(result.status != 0)
        #expect(result.stderr.contains("command dma_peek: the plugin answered DH_ERR_INVALID"), "\(result.stderr)")
    }
}
