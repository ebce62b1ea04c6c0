import DriverHostCore
import Foundation
import TestSupport

struct Run {
    var status: Int32
    var signalled: Bool
    var stdout: String
    var stderr: String
}

/// Runs the driverhost binary to completion.
func runDriverhost(_ arguments: [String]) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: RepoPaths.binary("driverhost"))
    process.arguments = arguments
    // No crash report: a plugin crash is expected in some tests.
    process.environment = ["SWIFT_BACKTRACE": "enable=no"]
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Run(status: process.terminationStatus,
               signalled: process.terminationReason == .uncaughtSignal,
               stdout: String(decoding: stdout, as: UTF8.self),
               stderr: String(decoding: stderr, as: UTF8.self))
}

/// Loads a test plugin's descriptor in this process.
func loadDescriptor(_ name: String) throws(HostFailure) -> PluginDescriptor {
    let library = try PluginLibrary(path: RepoPaths.testPlugin(name))
    return try PluginDescriptor(entry: library.entry, path: library.path)
}

/// An attached instance of a test plugin on a simulated device.
func attachedInstance(_ name: String = "good", stateFile: String? = nil) throws -> (Instance, SimulatedDevice) {
    let descriptor = try loadDescriptor(name)
    let device = try SimulatedDevice()
    let instance = try Instance(descriptor: descriptor, device: device, identity: InstanceIdentity(bdf: "0000:00:05.0")!,
                                log: Log(prefix: "test", threshold: .error), state: StateStore(path: stateFile))
    try descriptor.validatePrograms(for: device.info)
    try instance.setUpDevice()
    try instance.attach()
    return (instance, device)
}
