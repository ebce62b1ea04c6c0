import CDrvHost
@testable import DriverHostCore
import Testing
import DrvHostProtocol

@Suite struct DescriptorTests {
    @Test func acceptsACompletePlugin() throws {
        let descriptor = try loadDescriptor("good")
        #expect(descriptor.name == "test-counter")
        #expect(descriptor.ackProgram.count == 4)
        #expect(descriptor.releaseProgram.count == 4)
        #expect(descriptor.command(named: "add")?.signature.description == "i64(i64,i32)")
        #expect(descriptor.matches(SimulatedDevice.eduLike))
        var other = SimulatedDevice.eduLike
        other.device = 0x11e9
        #expect(!descriptor.matches(other))
    }

    @Test(arguments: [
        ("abi2", ExitCode.abiMismatch, "was built for drvhost plugin ABI 2.\(DH_ABI_MINOR); this driverhost implements ABI 1.\(DH_ABI_MINOR)"),
        ("newer-minor", .abiMismatch, "needs drvhost plugin ABI 1.\(DH_ABI_MINOR + 1); this driverhost implements ABI 1.\(DH_ABI_MINOR)"),
        ("short-struct", .descriptorInvalid, "struct_size 8 is smaller"),
        ("no-attach", .descriptorInvalid, "no attach callback"),
        ("no-interrupt", .descriptorInvalid, "no interrupt callback"),
        ("no-ack", .descriptorInvalid, "needs an ACK program"),
        ("bad-ack-op", .descriptorInvalid, "ACK program instruction 0: unknown opcode"),
        ("release-snapshot", .descriptorInvalid, "RELEASE program instruction 0: op not allowed"),
        ("bad-signature", .descriptorInvalid, "unknown type \"u33\""),
        ("duplicate-command", .descriptorInvalid, "command \"count\" declared twice"),
    ])
    func refusesBrokenDescriptors(_ plugin: String, _ code: ExitCode, _ message: String) {
        do {
            _ = try loadDescriptor(plugin)
            Issue.record("\(plugin) was accepted")
        } catch {
            #expect(error.exitCode == code)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    /// The ABI's promise to older minors: a plugin built against the 1.1
    /// header loads, and the host reads nothing past its struct_size (its
    /// fixture puts a pointer right where 1.2 has get_extension).
    @Test func loadsAPluginOfAnOlderMinorReadingOnlyItsFields() throws {
        let descriptor = try loadDescriptor("older-minor")
        #expect(descriptor.raw.abi_minor == 1)
        #expect(Int(descriptor.raw.struct_size) == PluginDescriptor.descriptorSize(minor: 1))
        #expect(PluginDescriptor.descriptorSize(minor: 1) < MemoryLayout<dh_plugin>.size)
        #expect(descriptor.raw.get_extension == nil)
        #expect(descriptor.command(named: "add")?.signature.description == "i64(i64,i32)")
    }

    @Test func checksProgramsAgainstTheDeviceBARs() throws {
        // Valid for some device, but reads past the end of this one's BAR0.
        let descriptor = try loadDescriptor("ack-out-of-range")
        #expect(throws: HostFailure.self) { try descriptor.validatePrograms(for: SimulatedDevice.eduLike) }
        var bigger = SimulatedDevice.eduLike
        bigger.bars[0].size = 2 << 20
        try descriptor.validatePrograms(for: bigger)
    }

    @Test func refusesANonPlugin() {
        do {
            _ = try PluginLibrary(path: "/nonexistent/plugin.so")
            Issue.record("loaded a missing file")
        } catch {
            #expect(error.exitCode == .pluginNotLoadable)
        }
    }
}
