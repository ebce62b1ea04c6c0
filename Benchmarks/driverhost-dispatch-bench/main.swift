import CDispatchBaseline
import CDrvHost
import DriverHostCore
import Glibc
import DrvHostSystem
import DrvHostProtocol

// Dispatch benchmark, on the host (no VM, no kernel module): events per
// second through driverhost's event loop and a plugin's interrupt() against
// a bare C epoll loop driving the same plugin from the same kind of source
// (an eventfd that the plugin re-arms from interrupt()). Rounds alternate so
// that drift on a shared machine hits both sides alike. Each round also runs
// driverhost with its trace on (hostctl trace: every register write, event
// and callback recorded, and sent as a supervisor would get it, to a reader
// that keeps up), for the cost of tracing: dispatch_ratio_tracing.
//
// usage: driverhost-dispatch-bench PLUGIN [EVENTS_PER_ROUND] [ROUNDS]
// PLUGIN: Tests/Plugins' good.so (it has the "arm" command).

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    print("usage: driverhost-dispatch-bench PLUGIN [EVENTS_PER_ROUND] [ROUNDS]")
    exit(ExitCode.usage.rawValue)
}
let pluginPath = arguments[1]
let eventsPerRound = arguments.count > 2 ? UInt64(arguments[2]) ?? 200_000 : 200_000
let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 7 : 7

func fail(_ message: String) -> Never {
    print("dispatch bench: \(message)")
    exit(ExitCode.internalError.rawValue)
}

let library: PluginLibrary
let descriptor: PluginDescriptor
do {
    library = try PluginLibrary(path: pluginPath)
    descriptor = try PluginDescriptor(entry: library.entry, path: pluginPath)
} catch {
    fail(error.message)
}
let plugin = library.entry.assumingMemoryBound(to: dh_plugin.self)

func driverhostRound(_ instance: Instance) -> UInt64 {
    let start = cdh_monotonic_ns()
    do {
        _ = try instance.call("arm", arguments: ["\(eventsPerRound)"])
        _ = try instance.runLoop(stopAfterEvents: eventsPerRound)
    } catch {
        fail("\(error)")
    }
    return cdh_monotonic_ns() - start
}

/// The supervisor's end of the control channel: read and thrown away on a
/// thread of its own, as hostd reads a traced driverhost.
func supervisorEnd() -> Descriptor {
    var pair: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
        fail("socketpair: \(String(cString: strerror(errno)))")
    }
    let reader = pair[0]
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { argument in
        let fd = Int32(Int(bitPattern: argument))
        var buffer = [UInt8](repeating: 0, count: 65536)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
        return nil
    }, UnsafeMutableRawPointer(bitPattern: Int(reader)))
    guard started == 0 else { fail("pthread_create: \(started)") }
    return Descriptor(taking: pair[1])
}

let instance: Instance
do {
    let device = try SimulatedDevice()
    instance = try Instance(descriptor: descriptor, device: device, identity: InstanceIdentity(),
                            log: Log(prefix: "bench", threshold: .warning), state: StateStore(path: nil),
                            control: ControlChannel(supervisorEnd()))
    try instance.setUpDevice()
    try instance.attach()
} catch let failure as HostFailure {
    fail(failure.message)
} catch {
    fail("\(error)")
}

// Warm-up, then alternate.
_ = driverhostRound(instance)
_ = cdb_run_bare_loop(plugin, "arm", eventsPerRound)
var driverhostRates: [Double] = []
var tracedRates: [Double] = []
var bareRates: [Double] = []
for _ in 0..<rounds {
    let hostNs = driverhostRound(instance)
    let bareNs = cdb_run_bare_loop(plugin, "arm", eventsPerRound)
    guard bareNs > 0 else { fail("the bare C loop failed") }
    instance.setTracing(true)
    let tracedNs = driverhostRound(instance)
    instance.setTracing(false)
    driverhostRates.append(Double(eventsPerRound) * 1e9 / Double(hostNs))
    tracedRates.append(Double(eventsPerRound) * 1e9 / Double(tracedNs))
    bareRates.append(Double(eventsPerRound) * 1e9 / Double(bareNs))
}
instance.detach()

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted[sorted.count / 2]
}
let host = median(driverhostRates)
let bare = median(bareRates)
print("dispatch_events_per_second_driverhost: \(Int(host))")
print("dispatch_events_per_second_bare_c: \(Int(bare))")
let traced = median(tracedRates)
print("dispatch_ratio: \((host / bare * 1000).rounded() / 1000)")
print("dispatch_events_per_second_driverhost_tracing: \(Int(traced))")
print("dispatch_ratio_tracing: \((traced / bare * 1000).rounded() / 1000)")
