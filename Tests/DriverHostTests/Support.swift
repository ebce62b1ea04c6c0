import CDrvHost
import DriverHostCore
import Foundation
import TestSupport
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

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

/// A simulated device whose armed read returns, in one batch, an interrupt,
/// an ERROR record (AER, channel state frozen) and another interrupt.
final class FailingDevice: DeviceBackend {
    let inner: SimulatedDevice
    private var armed = false

    init() throws {
        inner = try SimulatedDevice()
    }

    /// The next read brings the error.
    func arm() {
        armed = true
        inner.writeRegister(bar: 0, offset: SimulatedDevice.raiseRegister, width: 4, value: 1)
    }

    var info: DeviceInfo { inner.info }
    var eventDescriptor: Int32 { inner.eventDescriptor }

    func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(SystemCallError) -> Int {
        let n = try inner.readEvents(into: buffer, capacity: capacity)
        guard armed, n == 1, capacity >= 3 else { return n }
        armed = false
        var error = dh_event()
        error.seq = buffer[0].seq + 1
        error.flags = UInt32(DRVPROXY_EVENT_ERROR)
        error.nsnap = 1
        error.snap.0 = 2  // pci_channel_io_frozen
        buffer[1] = error
        buffer[2] = buffer[0]
        buffer[2].seq = buffer[0].seq + 2
        return 3
    }

    func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure) {
        try inner.install(kind, program, flags: flags)
    }
    func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(SystemCallError) { try inner.setInterruptMode(mode, vectors: vectors) }
    func unmask() throws(SystemCallError) { try inner.unmask() }
    func mapBAR(_ index: Int) throws(SystemCallError) -> UnsafeMutableRawPointer? { try inner.mapBAR(index) }
    func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64 { inner.readRegister(bar: bar, offset: offset, width: width) }
    func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64) {
        inner.writeRegister(bar: bar, offset: offset, width: width, value: value)
    }
    func setDMAMask(bits: UInt32) throws(SystemCallError) { try inner.setDMAMask(bits: bits) }
    func allocateDMA(size: UInt64) throws(SystemCallError) -> DMAAllocation { try inner.allocateDMA(size: size) }
    func freeDMA(_ allocation: DMAAllocation) throws(SystemCallError) { try inner.freeDMA(allocation) }
    func setBusMaster(_ enabled: Bool) throws(SystemCallError) { try inner.setBusMaster(enabled) }
    func close() { inner.close() }
}
