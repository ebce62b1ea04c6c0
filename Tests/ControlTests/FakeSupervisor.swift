import DrvHostControl
import DrvHostProtocol

/// A supervisor with two devices and one running edu instance. Records every
/// changing call, so tests can tell a refused request changed nothing.
actor FakeSupervisor: SupervisorAPI {
    static let edu: DeviceRow = {
        var row = DeviceRow(
            bdf: "0000:00:05.0", vendor: 0x1234, device: 0x11e8, subvendor: 0x1af4, subdevice: 0x1100,
            classCode: 0x00ff00, className: "Unclassified device", kernelDriver: "drvproxy",
            instance: "edu@0000:00:05.0", dmaMode: .confined)
        row.details = DeviceDetails(regions: [.init(index: 0, io: false, size: 1 << 20, prefetchable: false, is64Bit: false)],
                                    irq: 11, irqSharers: ["0000:00:03.0"], interrupts: "INTx", iommuGroup: 4,
                                    previousDriver: "uio_pci_generic")
        return row
    }()
    static let nic = DeviceRow(
        bdf: "0000:00:03.0", vendor: 0x8086, device: 0x100e, subvendor: 0x1af4, subdevice: 0x1100,
        classCode: 0x020000, vendorName: "Intel Corporation",
        deviceName: "82540EM Gigabit Ethernet Controller", className: "Ethernet controller",
        kernelDriver: "e1000")
    static let running = InstanceStatus(
        name: "edu@0000:00:05.0", plugin: "edu", device: "0000:00:05.0", state: .running, pid: 4242,
        restarts: 2, lastExit: "signal 11 (SIGSEGV)", interrupts: 17, notMine: 3, dropped: 0, releases: 2, storms: 1,
        dmaMode: .confined, reset: true)
    /// On a machine without an IOMMU, in drvproxy's unsafe mode, on a
    /// function without a reset method, after a device error.
    static let unsafe = InstanceStatus(
        name: "edu@0000:00:06.0", plugin: "edu", device: "0000:00:06.0", state: .running, pid: 4343,
        restarts: 1, lastExit: "exit 42 (device error)", dmaMode: .unsafe, reset: false)
    static let plugins = [
        PluginRow(file: "edu.so", name: "edu", version: "1.0", state: .loaded, instances: ["edu@0000:00:05.0"]),
        PluginRow(file: "broken.so", name: nil, version: nil, state: .refused, refusal: "ABI major 2, host has 1"),
        // Tests/Plugins/hostile.c's nasty-strings.so: terminal controls in its version.
        PluginRow(file: "nasty-strings.so", name: "nasty-strings", version: "1.0\u{1b}[2J\u{9b}\n", state: .loaded, instances: []),
    ]

    private(set) var changes: [String] = []

    func load(plugin: String, device: String?) throws(ControlError) -> [InstanceStatus] {
        guard plugin == "edu.so" || plugin == "edu" else {
            throw ControlError(.notFound, "no plugin \(plugin) in the plugin directory")
        }
        changes.append("load \(plugin) \(device ?? "*")")
        return [Self.running]
    }

    func unload(_ target: String) throws(ControlError) -> [String] {
        guard target == "edu" || target == Self.running.name else {
            throw ControlError(.notFound, "nothing named \(target) is loaded")
        }
        changes.append("unload \(target)")
        return [Self.running.name]
    }

    func plugins() -> [PluginRow] { Self.plugins }
    func devices() -> [DeviceRow] { [Self.nic, Self.edu] }
    func instances() -> [InstanceStatus] { [Self.running] }

    func status(_ instance: String) throws(ControlError) -> InstanceStatus {
        if instance == Self.unsafe.name { return Self.unsafe }
        guard instance == Self.running.name else { throw ControlError(.notFound, "no instance \(instance)") }
        return Self.running
    }

    func restart(_ instance: String) throws(ControlError) -> InstanceStatus {
        guard instance == Self.running.name else { throw ControlError(.notFound, "no instance \(instance)") }
        changes.append("restart \(instance)")
        return Self.running
    }

    /// What driverhost sends for a "{mac:bytes[6],mtu:u32,name:str[8],status:x16}()" command.
    static let linkResult = #"{"mac":"525400123456","mtu":1500,"name":"eth 0\t","status":"0x8001"}"#

    /// factorial has the signature u64(u32), like the edu plugin's.
    /// The running instance, then it restarting and running again.
    func watch(buffer: Int) -> AsyncStream<InstanceStatus> {
        var restarting = Self.running
        restarting.state = .restarting
        var again = Self.running
        again.restarts += 1
        return AsyncStream { continuation in
            for status in [Self.running, restarting, again] { continuation.yield(status) }
            continuation.finish()
        }
    }

    /// "flood": a stream of four batches at most, for the test to fill.
    private(set) var flood: AsyncStream<TraceBatch>.Continuation?

    /// Two batches: a write and an event with its callback, then a drop count.
    func trace(_ instance: String) throws(ControlError) -> AsyncStream<TraceBatch> {
        if instance == "flood" {
            let (stream, continuation) = AsyncStream.makeStream(of: TraceBatch.self, bufferingPolicy: .bufferingNewest(4))
            flood = continuation
            return stream
        }
        guard instance == Self.running.name else { throw ControlError(.notFound, "no instance \(instance)") }
        var write = TraceRecord(kind: .write, timeNs: 1_000_000)
        write.bar = 0; write.offset = 8; write.width = 4; write.value = 5
        var event = TraceRecord(kind: .event, timeNs: 1_250_000)
        event.seq = 7; event.vector = 0; event.flags = 0; event.snapshot = [1]
        var callback = TraceRecord(kind: .callback, timeNs: 1_300_000)
        callback.callback = "interrupt"; callback.durationNs = 12_345
        return AsyncStream { continuation in
            continuation.yield(TraceBatch(records: [write], droppedInDriverhost: 0, droppedInHostd: 0))
            continuation.yield(TraceBatch(records: [event, callback], droppedInDriverhost: 3, droppedInHostd: 1))
            continuation.finish()
        }
    }

    func logs(_ instance: String, lines: Int, follow: Bool) throws(ControlError) -> AsyncStream<String> {
        guard instance == Self.running.name else { throw ControlError(.notFound, "no instance \(instance)") }
        let all = (1...5).map { "driverhost[0000:00:05.0]: info: line \($0)" }
        return AsyncStream { continuation in
            for line in all.suffix(lines) { continuation.yield(line) }
            continuation.finish()
        }
    }

    func metrics() -> String {
        "# TYPE drvhost_instance_interrupts_total counter\ndrvhost_instance_interrupts_total{instance=\"\(Self.running.name)\"} 7\n"
    }

    func call(_ instance: String, command: String, arguments: [String]) throws(ControlError) -> String {
        guard instance == Self.running.name else { throw ControlError(.notFound, "no instance \(instance)") }
        if command == "link" { return Self.linkResult }
        guard command == "factorial" else { throw ControlError(.notFound, "edu has no command \(command)") }
        guard arguments.count == 1 else {
            throw ControlError(.badRequest, "factorial u64(u32) takes 1 argument, got \(arguments.count)")
        }
        guard let n = UInt32(arguments[0]), n <= 20 else {
            throw ControlError(.badRequest, "argument 1 of factorial u64(u32): \"\(arguments[0])\" is not a u32 up to 20")
        }
        changes.append("call \(command) \(n)")
        return String((1...max(n, 1)).reduce(UInt64(1)) { $0 * UInt64($1) })
    }
}
