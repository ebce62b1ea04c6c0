import DriverHostCore
import Foundation
import HostdCore
import Testing
import TestSupport
import DrvHostProtocol

@Suite struct ConfigTests {
    @Test func fileOverridesDefaults() throws {
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: """
            # comment
            plugin_dir = "/srv/plugins"   # trailing comment
            autoload = false

            [restart]
            max_crashes = 3
            window_ms = 10_000
            warm_standby = false

            [devices]
            claim = ["00:05.0", "0000:00:06.0",]
            ignore = []
            """)
        #expect(config.pluginDirectory == "/srv/plugins")
        #expect(config.autoload == false)
        #expect(config.restart.maxCrashes == 3)
        #expect(config.restart.windowMs == 10_000)
        #expect(config.restart.initialBackoffMs == 50)
        #expect(config.warmStandby == false && HostdConfig().warmStandby)
        #expect(config.claim == ["0000:00:05.0", "0000:00:06.0"])
        #expect(config.socketPath == HostdConfig().socketPath)
    }

    /// What an operator writes in normal TOML, none of it on one line.
    @Test func aNormalTOMLFileIsAccepted() throws {
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: """
            plugin_dir = '/srv/drvhost plugins'        # literal string
            socket = "/run/drvhost/\\u0063ontrol.sock"  # escape
            restart = { max_crashes = 4, backoff_max_ms = 0x1000 }

            [limits]
            max_callback_ms = 30_000
            liveness_ms = 0o77777

            [instance]
            open_files = 0b100_0000_0000

            [devices]
            claim = [
                "00:05.0",      # edu
                "0000:00:06.0", # the second one
            ]
            ignore = [
            ]
            """)
        #expect(config.pluginDirectory == "/srv/drvhost plugins")
        #expect(config.socketPath == "/run/drvhost/control.sock")
        #expect(config.restart.maxCrashes == 4 && config.restart.maxBackoffMs == 4096)
        #expect(config.limits.maxCallbackMs == 30_000 && config.livenessMs == 0o77777)
        #expect(config.resources.openFiles == 1024)
        #expect(config.claim == ["0000:00:05.0", "0000:00:06.0"] && config.ignore.isEmpty)
        #expect(error("[restart]\nwindow_ms = 1.5")?.description == "f.toml:2: restart.window_ms must be an integer from 1 to 86400000")
        #expect(error("[devices]\nclaim = [\n  \"00:05.0\",\n  00:06.0,\n]")?.description
            == "f.toml:4: \"00:06.0\" is not a TOML value (strings are quoted; numbers, true and false are not)")
    }

    @Test func limitsCapThePluginsBounds() throws {
        #expect(HostdConfig().limits.maxCallbackMs == 10_000 && HostdConfig().limits.maxAttachMs == 60_000)
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: """
            [limits]
            max_callback_ms = 500
            max_attach_ms = 5_000
            """)
        #expect(config.limits.maxCallbackMs == 500 && config.limits.maxAttachMs == 5_000)
        #expect(error("[limits]\nmax_callback_ms = 0")?.description
            == "f.toml:2: limits.max_callback_ms must be an integer from 1 to 3600000")
        #expect(error("\n[limits]\nmax_attach_ms = 99999999999")?.description
            == "f.toml:3: limits.max_attach_ms must be an integer from 1 to 3600000")
    }

    @Test func theShippedConfigHoldsTheDefaults() throws {
        let text = try String(contentsOfFile: RepoPaths.inRoot("Support/hostd.toml"), encoding: .utf8)
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: text)
        #expect(config.limits == HostdConfig().limits)
        #expect(config.carrierGraceMs == HostdConfig().carrierGraceMs)
    }

    /// 0 turns the carrier off at once; a minute is the most an interface
    /// may look up with nobody behind it.
    @Test func theCarrierGraceIsBounded() throws {
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: "[net]\ncarrier_grace_ms = 0")
        #expect(config.carrierGraceMs == 0)
        try config.apply(file: "hostd.toml", text: "[net]\ncarrier_grace_ms = 60_000")
        #expect(config.carrierGraceMs == 60_000)
        for bad in ["-1", "60001", "\"1000\"", "1.5", "true"] {
            #expect(error("[net]\ncarrier_grace_ms = \(bad)")?.description
                == "f.toml:2: net.carrier_grace_ms must be an integer from 0 to 60000", "\(bad)")
        }
    }

    @Test func netInterfaceNamesComeFromAPatternThatIsChecked() throws {
        #expect(HostdConfig().netInterfaceName == nil)
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: "[net]\ninterface_name = \"lan{pci}\"")
        #expect(config.netInterfaceName == "lan{pci}")
        #expect(error("[net]\ninterface_name = \"dh-{bdf}\"")?.reason.contains("the placeholders are {plugin} and {pci}") == true)
        #expect(error("[net]\ninterface_name = \"a-much-too-long-name{pci}\"")?.reason.contains("15 characters") == true)
    }

    @Test func simulatedDevicesAreOffUntilConfigured() throws {
        #expect(HostdConfig().simDirectory == nil && HostdConfig().pciDevices)
        var config = HostdConfig()
        try config.apply(file: "hostd.toml", text: """
            sim_dir = "/run/drvhost/sim"
            pci = false
            """)
        #expect(config.simDirectory == "/run/drvhost/sim")
        #expect(config.pciDevices == false)
        #expect(error(#"sim_dir = "sim""#)?.reason == #"sim_dir must be an absolute path, not "sim""#)
    }

    func error(_ text: String) -> HostdConfig.Error? {
        var config = HostdConfig()
        do {
            try config.apply(file: "f.toml", text: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func errorsNameTheLineAndTheReason() {
        #expect(error("autoload = true\nsocket = \"relative\"")?.description
            == "f.toml:2: socket must be an absolute path, not \"relative\"")
        #expect(error("\n\nplugin_directory = \"/x\"")?.description == "f.toml:3: unknown setting plugin_directory")
        #expect(error("[restart]\nmax_crashes = \"five\"")?.description
            == "f.toml:2: restart.max_crashes must be an integer from 1 to 1000")
        #expect(error("autoload = yes")?.line == 1)
        #expect(error("[restart]\nwarm_standby = 1")?.description == "f.toml:2: restart.warm_standby must be true or false")
        #expect(error("socket = \"/a\nb\"")?.description
            == "f.toml:1: unterminated string (a \"...\" string ends on its line; \"\"\"...\"\"\" spans lines)")
        #expect(error("[devices]\nclaim = [\"00:05\"]")?.description
            == "f.toml:2: devices.claim: string(\"00:05\") is not a PCI address like 0000:00:05.0")
        #expect(error("autoload = true\nautoload = false")?.description == "f.toml:2: autoload is set twice")
        #expect(error("[restart]\nbackoff_initial_ms = 100\nbackoff_max_ms = 10")?.line == 3)
    }

    @Test func pciAddressesAreNormalised() {
        #expect(PCIAddress.normalized("00:1F.7") == "0000:00:1f.7")
        #expect(PCIAddress.normalized("0001:02:03.4") == "0001:02:03.4")
        #expect(PCIAddress.normalized("00:20.0") == nil)
        #expect(PCIAddress.normalized("sim:edu0") == nil)
    }
}

@Suite struct ShortAddressTests {
    @Test func anInstanceMayBeNamedWithAShortAddress() {
        #expect(Supervisor.fullInstanceName("edu@00:05.0") == "edu@0000:00:05.0")
        #expect(Supervisor.fullInstanceName("edu@0000:00:05.0") == "edu@0000:00:05.0")
        #expect(Supervisor.fullInstanceName("edu@sim:edu0") == "edu@sim:edu0")
        #expect(Supervisor.fullInstanceName("edu") == "edu")
    }
}
