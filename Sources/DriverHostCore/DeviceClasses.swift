import CDrvHost
import DrvHostSystem
import DrvHostProtocol

/// A device class driverhost serves for a plugin: the plugin's device
/// becomes a standard Linux device (block: ublk, net: TAP) that programs use
/// without knowing drvhost. The class device outlives the driverhost (it is
/// the supervisor's to end), so that a crash is only a pause for its users.
protocol DeviceClassServer: AnyObject {
    /// The extension id both halves are found by, e.g. "drvhost.block/1".
    static var extensionID: String { get }
    /// The class's short name in the supervisor's protocol: "block", "net".
    static var kind: String { get }

    /// Called once bus mastering is on after attach, with the plugin's half
    /// (what its get_extension returned). `known` is the class device this
    /// instance had before a crash or restart (from the supervisor), nil on
    /// the first attach. Validates the plugin's half, then creates or
    /// recovers the class device and registers its descriptors with the loop.
    init(instance: Instance, pluginHalf: UnsafeRawPointer, known: String?) throws(HostFailure)

    /// The class device's name, as the supervisor shows it ("ublkb0", "dh-edu0").
    var deviceName: String { get }

    /// Descriptors the supervisor takes (pidfd_getfd) and keeps, so that
    /// the device's queues outlive this process (a TAP interface's); empty
    /// for a class whose device needs nothing kept.
    var queueDescriptors: [Int32] { get }

    /// The host's half, answered by dh_host.get_extension(inst, extensionID).
    var hostHalf: UnsafeRawPointer { get }

    /// Orderly detach, before the plugin's detach: stop handing the plugin
    /// work. The class device stays for the supervisor to end.
    func stop()

    /// What the class counted since this driverhost attached, in a fixed
    /// order, names of [a-z0-9_] (ClassCounter.isName). The supervisor
    /// shows them with the instance (hostctl status). Empty: nothing to
    /// report (the default).
    var counters: [(name: String, value: UInt64)] { get }

    /// `driverhost --end-device KIND NAME`: ends the class device after an
    /// unload or when its instance failed for good, so that its users get
    /// errors, not a hang. Idempotent: a device that is gone already is fine.
    static func end(name: String) throws(HostFailure)
}

extension DeviceClassServer {
    var counters: [(name: String, value: UInt64)] { [] }
}

/// The class server's counters, for the supervisor: a "counters" message
/// (DriverhostMessage), sent at attach and then every `intervalNs` if they
/// changed. Pushed rather than asked for, so that `hostctl status` never
/// waits on a driverhost that is busy or stuck.
enum ClassCounters {
    static let intervalNs: UInt64 = 500_000_000

    static func line(kind: String, _ counters: [(name: String, value: UInt64)]) -> String {
        DriverhostMessage.counters(kind: kind, counters.prefix(ClassCounter.maxCount).map { ClassCounter(name: $0.name, value: $0.value) }).line
    }
}

/// The classes this driverhost serves, in the order a plugin is asked.
enum DeviceClasses {
    static var servers: [any DeviceClassServer.Type] { [BlockClass.self, NetClass.self] }

    static func server(kind: String) -> (any DeviceClassServer.Type)? {
        servers.first { $0.kind == kind }
    }

    /// `driverhost --end-device KIND NAME`.
    static func end(kind: String, name: String) throws(HostFailure) {
        guard let server = server(kind: kind) else {
            throw HostFailure(.usage, "unknown device class \"\(kind)\" (this driverhost serves: \(servers.map { $0.kind }.joined(separator: ", ")))")
        }
        try server.end(name: name)
    }
}

extension DeviceClassServer {
    var queueDescriptors: [Int32] { [] }
}

extension Instance {
    /// Asks the plugin for each class this host serves and starts the one it
    /// offers (at most one). Runs after bus mastering is on, under the attach
    /// bound: a plugin whose geometry needs DMA (NVMe's Identify) finishes
    /// its set-up inside get_extension.
    func startDeviceClass(known: ClassDevice?) throws(HostFailure) {
        guard let getExtension = descriptor.raw.get_extension else {
            if let known { throw HostFailure(.deviceClassFailed, "plugin \(descriptor.name) offers no device class, but this instance has the \(known.kind) device \(known.name)") }
            return
        }
        let context = self.context
        for server in DeviceClasses.servers {
            let half = server.extensionID.withCString { id in
                watchdog.guarding(attachBound) { getExtension(context, id) }
            }
            guard let half else { continue }
            if let known, known.kind != server.kind {
                throw HostFailure(.deviceClassFailed, "plugin \(descriptor.name) now offers a \(server.kind) device, but this instance has the \(known.kind) device \(known.name)")
            }
            classServer = try server.init(instance: self, pluginHalf: half, known: known?.name)
            log(.info, "plugin \(descriptor.name): serving \(server.kind) device \(classServer!.deviceName)")
            return
        }
        if let known { throw HostFailure(.deviceClassFailed, "plugin \(descriptor.name) no longer offers a \(known.kind) device (this instance has \(known.name))") }
    }

    /// dh_host.get_extension: the running class server's half for its id.
    func hostExtension(_ id: String) -> UnsafeRawPointer? {
        guard let server = classServer, type(of: server).extensionID == id else { return nil }
        return server.hostHalf
    }

    /// Reports the class server's counters to the supervisor from now on
    /// (ClassCounters); nothing without a supervisor or counters. A report
    /// that cannot be set up is logged: the device runs without it.
    func startCounterReports() {
        do {
            try reportCounters()
        } catch {
            log(.error, error.message)
        }
    }

    private func reportCounters() throws(HostFailure) {
        guard let server = classServer, loop.hasSupervisor, !server.counters.isEmpty else { return }
        let kind = type(of: server).kind
        let timer: Descriptor
        do {
            timer = Descriptor(taking: try systemCall("timerfd_create") { cdh_timerfd_create() })
            _ = try systemCall("timerfd_settime") { cdh_timerfd_set(timer.raw, ClassCounters.intervalNs, ClassCounters.intervalNs) }
        } catch {
            throw HostFailure(.internalError, "cannot start the \(kind) counter reports: \(error)")
        }
        var sent = ClassCounters.line(kind: kind, server.counters)
        loop.tellSupervisor(sent)
        do {
            // The handler keeps the timer (and its descriptor) alive.
            try loop.addClassSource(timer.raw, readable: { [unowned self] in
                _ = try? timer.readCounter()
                guard let server = self.classServer else { return }
                let line = ClassCounters.line(kind: kind, server.counters)
                guard line != sent else { return }
                sent = line
                self.loop.tellSupervisor(line)
            })
        } catch {
            throw HostFailure(.internalError, "cannot start the \(kind) counter reports: \(error)")
        }
    }

    /// The class device, for the supervisor.
    var classDevice: ClassDevice? {
        classServer.map { ClassDevice(kind: type(of: $0).kind, name: $0.deviceName) }
    }
}
