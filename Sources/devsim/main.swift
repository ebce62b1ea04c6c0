import CDevSim
import CDrvHost
import DevSimCore
import DriverHostCore
import Glibc
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

// devsim: simulated PCI devices behind the drvproxy contract. See
// DevSimOptions.help and README.md next to this file.

func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
}

func fail(_ code: Int32, _ message: String) -> Never {
    writeAll(STDERR_FILENO, "devsim: \(message)\n")
    exit(code)
}

let options: DevSimOptions
do {
    options = try DevSimOptions(parsing: Array(CommandLine.arguments.dropFirst()))
} catch {
    fail(2, "\(error.description)\n\n\(DevSimOptions.help)")
}

switch options.command {
case .help:
    writeAll(STDOUT_FILENO, DevSimOptions.help + "\n")
case .listModels:
    writeAll(STDOUT_FILENO, DeviceModels.names.joined(separator: "\n") + "\n")
case .status(let name):
    do {
        let connection = try DevSimConnection(name: name, directory: options.directory, role: .observer)
        let c = try connection.counters()
        writeAll(STDOUT_FILENO, """
            interrupts \(c.interrupts)
            not_mine \(c.not_mine)
            dropped \(c.dropped)
            storms \(c.storms)
            releases \(c.releases)
            owner_pid \(c.owner_pid)
            bus_master \(c.bus_master)
            irq_mode \(c.irq_mode)
            dma_buffers \(c.dma_buffers)

            """)
    } catch let error as HostFailure {
        fail(3, error.message)
    } catch {
        fail(3, "sim:\(name): \(error)")
    }
case .injectError(let name, let state):
    do {
        let connection = try DevSimConnection(name: name, directory: options.directory, role: .observer)
        try connection.call(DEVSIM_INJECT_ERROR, "inject error", a: (state, 0))
    } catch let error as HostFailure {
        fail(3, error.message)
    } catch let error as SystemCallError where error.code == ENXIO {
        fail(3, "sim:\(name): nobody owns the device: no driver to report the error to")
    } catch {
        fail(3, "sim:\(name): \(error)")
    }
case .list:
    for d in DevSimConnection.describeDevices(in: options.directory) {
        writeAll(STDOUT_FILENO, "\(d.address) \(hex4(d.vendor)):\(hex4(d.device)) \(hex4(d.subvendor)):\(hex4(d.subdevice)) \(String(d.classCode, radix: 16)) \(d.ownerPID) \(d.releases)\n")
    }
case .serve(let devices):
    // Block the termination signals before anything else: they are read
    // from a signalfd by the loop, so SIGTERM stops devsim cleanly.
    let signalFD = cdh_signalfd_for_termination()
    guard signalFD >= 0 else { fail(1, "\(SystemCallError.last("signalfd"))") }
    if mkdir(options.directory, 0o700) != 0 && errno != EEXIST {
        fail(1, "cannot create \(SystemCallError.last(options.directory))")
    }
    let log: (String) -> Void = { writeAll(STDERR_FILENO, "devsim: \($0)\n") }
    let functions = devices.map { device in
        SimulatedFunction(name: device.name, modelName: device.model, model: DeviceModels.all[device.model]!(), log: log)
    }
    let server: DevSimServer
    do {
        server = try DevSimServer(directory: options.directory, functions: functions, log: log)
    } catch {
        fail(1, "\(error)")
    }
    for function in functions {
        let id = function.model.identity
        writeAll(STDOUT_FILENO, "sim:\(function.name) \(function.modelName) \(hex4(id.vendor)):\(hex4(id.device)) \(DevSimServer.socketPath(directory: options.directory, name: function.name))\n")
    }
    // Readiness: every socket is listening once this line is out.
    writeAll(STDOUT_FILENO, "ready\n")
    do {
        try server.run(signals: Descriptor(taking: signalFD))
    } catch {
        fail(1, "\(error)")
    }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
