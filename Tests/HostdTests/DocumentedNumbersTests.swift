import CDrvHost
import DriverHostCore
import DrvHostControl
import DrvHostControlServer
import Foundation
import HostdCore
import NIOCore
import Testing
import TestSupport
import DrvHostProtocol

/// The numbers SDK/README.md ("Numbers") and plugin.h state are the ones the
/// code uses: each row is rebuilt from the constant that decides it.
@Suite struct DocumentedNumbersTests {
    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: RepoPaths.inRoot(path), encoding: .utf8)
    }

    /// A #define of the kernel module's private header (not importable).
    static func kernelDefine(_ name: String) throws -> Int {
        let header = try text("Kernel/drvproxy_priv.h")
        let line = header.split(separator: "\n").first { $0.hasPrefix("#define \(name)") }
        return Int(line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).last ?? "") ?? -1
    }

    @Test func theReadmeTableIsTheCode() throws {
        let readme = try Self.text("SDK/README.md")
        let limits = CallbackLimits()
        let ring = try Self.kernelDefine("DRVPROXY_RING_ENTRIES")
        let idle = ControlServer.Configuration(socketPath: "", group: "").idleTimeout
        let rows = [
            "| attach watchdog, default | \(Instance.defaultAttachBoundMs) ms |",
            "| other callbacks and commands, default | \(Instance.defaultCallbackBoundMs) ms |",
            "| attach watchdog, cap | \(limits.maxAttachMs) ms |",
            "| other callbacks and commands, cap | \(limits.maxCallbackMs) ms |",
            "| events queued before DROPPED | \(ring - 1) |",
            "| claimed interrupts, none read, before a storm mask | \(4 * ring) |",
            "| `hostctl call` timeout, each send and receive | \(ControlClient.defaultTimeoutSeconds) s |",
            "| hostd closes an idle control connection after | \(idle.nanoseconds / 1_000_000_000) s |",
            "| DMA buffer size, buffers per device | \(DRVPROXY_MAX_DMA_SIZE >> 20) MiB, \(DRVPROXY_MAX_DMA_BUFFERS) |",
            "| saved state | \(DH_STATE_MAX) bytes |",
            "| timers per instance | \(DH_MAX_TIMERS) |",
            "| command arguments | \(DH_COMMAND_MAX_ARGS) |",
            "| `str[N]`, `bytes[N]`, record size | \(DH_COMMAND_MAX_BYTES) bytes |",
        ]
        for row in rows { #expect(readme.contains(row), "SDK/README.md lacks \"\(row)\"") }
        // The kernel's storm rule is a formula, 4 x the ring, as the table says.
        #expect(try Self.text("Kernel/drvproxy_priv.h").contains("#define DRVPROXY_STORM_THRESHOLD\t(4 * DRVPROXY_RING_ENTRIES)"))
        #expect(HostdConfig().autoload)
        #expect(readme.contains("with\n`autoload = true` in `/etc/drvhost/hostd.toml`, the default"))
    }

    @Test func pluginHSaysTheSame() throws {
        let header = try Self.text("SDK/include/drvhost/plugin.h")
            .split(separator: "\n").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " *")) }
            .joined(separator: " ")
        let limits = CallbackLimits()
        let ring = try Self.kernelDefine("DRVPROXY_RING_ENTRIES")
        for phrase in [
            "Watchdog: attach \(Instance.defaultAttachBoundMs) ms unless",
            "every command \(Instance.defaultCallbackBoundMs) ms unless",
            "Caps: \(limits.maxAttachMs) ms for attach, \(limits.maxCallbackMs) ms for the rest",
            "the kernel queues \(ring - 1) events per device",
            "\(4 * ring) claimed interrupts with none read",
            "`hostctl call` gives up after \(ControlClient.defaultTimeoutSeconds) s",
            "on which nothing moved for 60 s",
            "at most \(DRVPROXY_MAX_DMA_SIZE >> 20) MiB each and \(DRVPROXY_MAX_DMA_BUFFERS) per device",
        ] {
            #expect(header.contains(phrase), "plugin.h lacks \"\(phrase)\"")
        }
        #expect(ControlServer.Configuration(socketPath: "", group: "").idleTimeout == .seconds(60))
    }
}
