import CDrvHost
@testable import DriverHostCore
import Testing
import DrvHostProtocol

@Suite struct OptionsTests {
    @Test func collectsCallsWithTheirArguments() throws {
        let options = try Options(parsing: ["--device", "0000:00:05.0", "--plugin", "edu.so",
                                            "--call", "factorial", "10", "--call", "add", "-5", "3", "--log-level", "debug"])
        #expect(options.bdf == "0000:00:05.0")
        #expect(options.calls == [.init(name: "factorial", arguments: ["10"]), .init(name: "add", arguments: ["-5", "3"])])
        #expect(options.logLevel == .debug)
    }

    @Test func aOneShotRunMayLeaveTheDeviceClassOut() throws {
        #expect(try Options(parsing: ["--plugin", "x.so", "--simulate", "--no-device-class"]).noDeviceClass)
        #expect(try !Options(parsing: ["--plugin", "x.so", "--simulate"]).noDeviceClass)
    }

    @Test func aShortAddressIsDomainZeros() throws {
        #expect(try Options(parsing: ["--device", "00:0A.0", "--plugin", "x.so"]).bdf == "0000:00:0a.0")
        #expect(try Options(parsing: ["--device", "0001:00:05.0", "--plugin", "x.so"]).bdf == "0001:00:05.0")
    }

    @Test func namesTheClassDeviceToRecoverOrToEnd() throws {
        let recover = try Options(parsing: ["--plugin", "x.so", "--simulate", "--class-device", "block:ublkb3"])
        #expect(recover.classDevice == ClassDevice(kind: "block", name: "ublkb3"))
        // Ending needs neither a plugin nor a device.
        let end = try Options(parsing: ["--end-device", "net", "dh-edu0"])
        #expect(end.endDevice == ClassDevice(kind: "net", name: "dh-edu0") && end.plugin == nil)
    }

    @Test func endingAClassDeviceOfAnUnknownKindIsAUsageError() {
        #expect(DriverHost.endDevice(ClassDevice(kind: "tape", name: "st0")) == .usage)
    }

    @Test func capsThePluginsBoundsWithSaneDefaults() throws {
        let defaults = try Options(parsing: ["--plugin", "x.so", "--simulate"])
        #expect(defaults.limits == CallbackLimits(maxCallbackMs: 10_000, maxAttachMs: 60_000))
        let set = try Options(parsing: ["--plugin", "x.so", "--simulate", "--max-callback-ms", "300", "--max-attach-ms", "900"])
        #expect(set.limits == CallbackLimits(maxCallbackMs: 300, maxAttachMs: 900))
    }

    @Test func theBoundInForceIsTheDeclaredOneNeverAboveTheCap() {
        #expect(CallbackLimits.bound(declared: .max, fallback: 2_000, cap: 10_000) == 10_000)
        #expect(CallbackLimits.bound(declared: 300, fallback: 2_000, cap: 10_000) == 300)
        #expect(CallbackLimits.bound(declared: 0, fallback: 2_000, cap: 10_000) == 2_000)
        #expect(CallbackLimits.bound(declared: 0, fallback: 2_000, cap: 500) == 500)
    }

    @Test(arguments: [
        ["--device", "0000:00:05.0"],
        ["--plugin", "x.so"],
        ["--plugin", "x.so", "--device", "5"],
        ["--plugin", "x.so", "--simulate", "--frobnicate"],
        ["--plugin", "x.so", "--simulate", "--control-fd", "-1"],
        ["--plugin"],
        ["--plugin", "x.so", "--simulate", "--standby"],
        ["--plugin", "x.so", "--simulate", "--standby", "--control-fd", "3", "--call", "add", "1", "2"],
        ["--plugin", "x.so", "--simulate", "--max-callback-ms", "0"],
        ["--plugin", "x.so", "--simulate", "--max-callback-ms", "4294967296"],
        ["--plugin", "x.so", "--simulate", "--max-attach-ms", "-1"],
        ["--plugin", "x.so", "--simulate", "--class-device", "block"],
        ["--plugin", "x.so", "--simulate", "--class-device", "block:"],
        ["--plugin", "x.so", "--simulate", "--class-device", "block:a b"],
        ["--end-device", "block"],
        ["--end-device", "block", "--plugin"],
    ])
    func refusesBadCommandLines(_ arguments: [String]) {
        #expect(throws: Options.UsageError.self) { try Options(parsing: arguments) }
    }

    @Test func forcesAnInterruptModeByName() throws {
        let options = try Options(parsing: ["--plugin", "x.so", "--simulate", "--irq-mode", "intx-shared"])
        #expect(options.irqMode == DH_IRQ_INTX_SHARED.rawValue)
        #expect(throws: Options.UsageError.self) { try Options(parsing: ["--plugin", "x.so", "--simulate", "--irq-mode", "msi-x"]) }
    }

    @Test func helpPrintsEveryExitCode() {
        for code in ExitCode.all {
            #expect(Options.help.contains("\n  \(code.rawValue) "), "help lacks exit code \(code.rawValue)")
        }
        #expect(Options.help.contains("  40  watchdog: a plugin callback overran its bound"))
        #expect(!Options.help.contains("ExitCode.swift"))
    }

    @Test func helpNamesEveryOption() {
        for flag in ["--device", "--plugin", "--call", "--control-fd", "--state-file", "--restart-count",
                     "--device-node", "--simulate", "--log-level", "--standby", "--describe", "--help",
                     "--max-callback-ms", "--max-attach-ms", "--irq-mode", "--no-device-class",
                     "--class-device", "--end-device"] {
            #expect(Options.help.contains(flag), "help text lacks \(flag)")
        }
    }

    @Test func parsesPCIAddresses() {
        let id = InstanceIdentity(bdf: "0001:1a:1f.7")
        #expect(id?.domain == 1 && id?.bus == 0x1a && id?.slot == 0x1f && id?.function == 7)
        #expect(InstanceIdentity(bdf: "0000:00:20.0") == nil)
        // lspci's short form is domain 0's (PCIAddress, as hostd and hostctl read it).
        #expect(InstanceIdentity(bdf: "00:05.0")?.slot == 5)
        #expect(InstanceIdentity(bdf: "0000:00:05") == nil)
    }
}
