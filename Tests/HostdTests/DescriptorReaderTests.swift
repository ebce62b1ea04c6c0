import Foundation
import Glibc
import HostdCore
import Testing
import TestSupport

/// The descriptor reader on real plugin files through the real driverhost:
/// every refusal says why, and nothing a plugin does reaches the test process.
@Suite struct DescriptorReaderTests {
    let reader = DescriptorReader(driverhostPath: RepoPaths.binary("driverhost"), timeout: .milliseconds(1500), requiredOwner: getuid())

    func read(_ plugin: String, as name: String = "p.so", mode: mode_t = 0o644) throws -> DescriptorReader.Outcome {
        let directory = try RepoPaths.pluginDirectory([name: plugin])
        chmod("\(directory)/\(name)", mode)
        return reader.read("\(directory)/\(name)")
    }

    func refusal(_ outcome: DescriptorReader.Outcome) -> String {
        if case .refused(let why) = outcome { return why }
        return "(described)"
    }

    @Test func aGoodPluginIsDescribed() throws {
        guard case .described(let d) = try read(RepoPaths.testPlugin("good")) else {
            Issue.record("good.so was refused")
            return
        }
        #expect(d.name == "test-counter")
        #expect(d.abi.hasPrefix("1."))
        #expect(d.irqMode == "intx-shared")
        #expect(d.matches.first?.vendor == 0x1234 && d.matches.first?.device == 0x11e8)
        #expect(d.commands.contains { $0.name == "add" && $0.signature == "i64(i64,i32)" })
    }

    @Test func anotherABIMajorIsRefusedWithTheExitCode() throws {
        let why = refusal(try read(RepoPaths.testPlugin("abi2")))
        #expect(why.contains("built for drvhost plugin ABI 2"))
        #expect(why.hasSuffix("[exit 11 (ABI refused)]"))
    }

    @Test func anInvalidDescriptorIsRefused() throws {
        let why = refusal(try read(RepoPaths.testPlugin("bad-signature")))
        #expect(why.contains("invalid descriptor"))
        #expect(why.hasSuffix("[exit 12 (invalid descriptor)]"))
    }

    @Test func aCrashingConstructorCostsOnlyTheChild() throws {
        #expect(refusal(try read(RepoPaths.testPlugin("ctor-crash"))) == "reading the descriptor crashed: signal 11 (SIGSEGV)")
    }

    @Test func aHangingConstructorIsKilledAtTheTimeout() throws {
        let start = ContinuousClock.now
        #expect(refusal(try read(RepoPaths.testPlugin("ctor-hang"))).contains("took longer than"))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    /// Output is bounded as time is: hostd's memory does not grow with a
    /// constructor that prints without end.
    @Test func aConstructorThatFloodsStdoutIsKilled() throws {
        #expect(refusal(try read(RepoPaths.testPlugin("ctor-flood"))).hasPrefix("reading the descriptor printed over 1048576 bytes"))
    }

    @Test func aSharedObjectWithoutADescriptorIsRefused() throws {
        let library = URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/libpci.so.3").resolvingSymlinksInPath().path
        #expect(refusal(try read(library)).contains("is not a drvhost plugin"))
    }

    @Test func fileChecksComeFirst() throws {
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("notelf-\(UUID().uuidString)").path
        try "not a plugin\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(refusal(try read(text)) == "not a shared object (no ELF header)")
        #expect(refusal(try read(RepoPaths.testPlugin("good"), mode: 0o646)) == "writable by others (mode 646)")
        #expect(refusal(try read(RepoPaths.testPlugin("good"), mode: 0o664)) == "writable by its group (mode 664)")
        let strict = DescriptorReader(driverhostPath: RepoPaths.binary("driverhost"), requiredOwner: getuid() + 1)
        let directory = try RepoPaths.pluginDirectory(["good.so": RepoPaths.testPlugin("good")])
        #expect(refusal(strict.read("\(directory)/good.so")).hasPrefix("owned by uid \(getuid())"))
    }
}
