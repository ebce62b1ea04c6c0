import Foundation
import Testing
import TestSupport

/// Tests/PluginSuite on devsim: the same script and expectations the VM
/// suite 50-plugin-suite.sh runs against QEMU's real edu device. The C and
/// the Swift edu plugin pass the same checks: that is their parity.
@Suite(.serialized) struct PluginSuiteTests {
    static let plugins = [
        ("plugin_edu", "build/plugins/edu.so"),
        // swift build --package-path Plugins/edu-swift
        ("plugin_edu_swift", "Plugins/edu-swift/.build/debug/libedu-swift.so"),
    ]

    @Test(arguments: plugins) func pluginSuiteOnDevsim(label: String, plugin: String) throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try run("/bin/sh", [RepoPaths.inRoot("Tests/PluginSuite/plugin-suite.sh"), "sim:edu0", RepoPaths.builtFile(plugin),
                                         RepoPaths.builtFile("build/test-plugins/peek.so"),
                                         RepoPaths.inRoot("Tests/PluginSuite/expectations"), label],
                             environment: devsim.environment.merging([
                                "DRIVERHOST": RepoPaths.binary("driverhost"), "DEVSIM": RepoPaths.binary("devsim"),
                             ]) { $1 })
        let lines = result.stdout.split(separator: "\n")
        let failures = lines.filter { $0.hasPrefix("FAIL") }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        // Every expectation line, plus the four crash checks, passed.
        let expectations = try String(contentsOfFile: RepoPaths.inRoot("Tests/PluginSuite/expectations"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(lines.filter { $0.hasPrefix("PASS: \(label)_") }.count == expectations.count + 4)
    }
}
