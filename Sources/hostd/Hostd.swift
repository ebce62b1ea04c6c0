import ArgumentParser
import DrvHostControl
import DrvHostControlServer
import FoundationEssentials
import HostdCore
import Logging
import ServiceLifecycle
import UnixSignals
import DrvHostProtocol

/// hostd: the supervisor. Configuration: defaults, then the file, then flags.
@main
struct Hostd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Supervise drvhost plugins: one driverhost per (device, plugin), restarted after crashes.",
        discussion: "Stops on SIGTERM after unloading every instance and restoring each device's previous driver.")

    @Option(help: "Configuration file (TOML). A missing default file is not an error.")
    var config: String?

    @Option(help: "Plugin directory.") var pluginDir: String?
    @Option(help: "Control socket path.") var socket: String?
    @Option(help: "Group allowed to use the control socket.") var group: String?
    @Option(help: "State directory (saved plugin state, bindings to restore).") var stateDir: String?
    @Option(help: "Directory kept across restarts: what the operator loaded and unloaded, instance history.") var intentDir: String?
    @Option(help: "The driverhost executable.") var driverhost: String?
    @Option(help: "sysfs root (tests).") var sysfs: String?
    @Option(help: "Read PCI devices from an `lspci -x` dump (tests).") var pciDump: String?
    @Option(help: "pci.ids file.") var pciIds: String?
    @Flag(inversion: .prefixedNo, help: "Load new plugins onto every matching device.") var autoload: Bool?
    @Option(help: "Also drive the devices devsim simulates in this runtime directory (as sim:NAME).") var simDir: String?
    @Flag(inversion: .prefixedNo, help: "List and claim real PCI devices (--no-pci: simulated devices only).") var pci: Bool?
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"

    static let defaultConfigFile = "/etc/drvhost/hostd.toml"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown log level \(logLevel)") }
    }

    func resolvedConfig() throws -> HostdConfig {
        var result = HostdConfig()
        result.driverhostPath = Hostd.driverhostBesideUs() ?? result.driverhostPath
        let file = config ?? Hostd.defaultConfigFile
        if let data = FileManager.default.contents(atPath: file) {
            try result.apply(file: file, text: String(decoding: data, as: UTF8.self))
        } else if config != nil {
            throw HostdConfig.Error(file: file, line: nil, reason: "cannot read the configuration file")
        }
        if let pluginDir { result.pluginDirectory = pluginDir }
        if let socket { result.socketPath = socket }
        if let group { result.socketGroup = group }
        if let stateDir { result.stateDirectory = stateDir }
        if let intentDir { result.intentDirectory = intentDir }
        if let driverhost { result.driverhostPath = driverhost }
        if let sysfs { result.sysfsRoot = sysfs }
        if let pciDump { result.pciDump = pciDump }
        if let pciIds { result.pciIDs = pciIds }
        if let autoload { result.autoload = autoload }
        if let simDir { result.simDirectory = simDir }
        if let pci { result.pciDevices = pci }
        return result
    }

    /// A driverhost installed next to hostd wins over the default path.
    static func driverhostBesideUs() -> String? {
        guard let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let candidate = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("driverhost").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel)!
        // Under systemd: the journal with fields; otherwise text on stderr.
        let journal = JournalLogHandler.socketPath(environment: ProcessInfo.processInfo.environment)
            .map(JournalLogHandler.Journal.init(path:))
        LoggingSystem.bootstrap { label in
            if let journal {
                var handler = JournalLogHandler(label: label, journal: journal)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "hostd")
        let settings: HostdConfig
        do {
            settings = try resolvedConfig()
        } catch let error as HostdConfig.Error {
            logger.critical("bad configuration: \(error)")
            throw ExitCode(2)
        }
        let supervisor = Supervisor(config: settings, logger: logger)
        let server = ControlServer(socketPath: settings.socketPath, group: settings.socketGroup,
                                   supervisor: supervisor, logger: Logger(label: "hostd.control"))
        let service = SupervisorService(supervisor: supervisor) { try await server.waitUntilListening() }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: server), .init(service: service),
            .init(service: ReloadOnHangup(supervisor: supervisor, logger: logger) { try self.resolvedConfig() }),
        ]
        if let listen = settings.metricsListen {
            services.append(.init(service: MetricsHTTPServer(listen: listen, logger: Logger(label: "hostd.metrics")) {
                await supervisor.metrics()
            }))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.critical("hostd stopped: \(error)")
            throw ExitCode(1)
        }
    }
}

/// SIGHUP: read the configuration again (file, then flags) and hand it to
/// the supervisor; a file that does not parse changes nothing.
struct ReloadOnHangup: Service {
    let supervisor: Supervisor
    let logger: Logger
    let resolve: @Sendable () throws -> HostdConfig

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                await supervisor.reload(try resolve())
            } catch {
                logger.error("configuration not reloaded: \(error)")
            }
        }
    }
}
