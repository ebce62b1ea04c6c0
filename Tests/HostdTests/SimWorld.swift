import DrvHostControl
import Foundation
import HostdCore
import Logging
import TestSupport

/// A supervisor on two simulated edu devices (a real devsim), with the
/// real driverhost and the C edu plugin in a plugin directory of its own.
struct SimWorld {
    let devsim: DevSimProcess
    let supervisor: Supervisor
    let plugins: String
}

func simWorld(autoload: Bool, extraPlugins: [String: String] = [:], describeTimeout: Duration = .seconds(5),
              logger: Logger = Logger(label: "test"),
              configure: (inout HostdConfig) -> Void = { _ in }) throws -> SimWorld {
    let devsim = try DevSimProcess(["edu0=edu", "edu1=edu"])
    let edu = RepoPaths.root.appendingPathComponent("build/plugins/edu.so").path
    precondition(FileManager.default.fileExists(atPath: edu), "\(edu) is missing: run `make plugins` before `swift test`")
    let plugins = try RepoPaths.pluginDirectory(["edu.so": edu].merging(extraPlugins) { $1 })
    var config = HostdConfig()
    config.pluginDirectory = plugins
    config.stateDirectory = plugins + "/.state"
    config.intentDirectory = plugins + "/.intent"
    config.driverhostPath = RepoPaths.binary("driverhost")
    config.simDirectory = devsim.directory
    config.pciDevices = false
    config.autoload = autoload
    config.restart = .init(maxCrashes: 3, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 4)
    configure(&config)
    let reader = DescriptorReader(driverhostPath: RepoPaths.binary("driverhost"), timeout: describeTimeout,
                                  requiredOwner: getuid())
    return SimWorld(devsim: devsim, supervisor: Supervisor(config: config, logger: logger, reader: reader),
                    plugins: plugins)
}
