import CDrvHost
import TerminalText
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// One driverhost run, start to exit: the order of steps is the point.
///
/// 1. block termination signals (before dlopen: plugin constructors may
///    start threads, which must inherit the mask), start the watchdog;
/// 2. load the plugin and validate its whole descriptor: an ABI mismatch or
///    a bad descriptor never gets as far as opening the device;
///    (--standby: then wait for the supervisor's "start", see Standby);
/// 3. open the device, log its DMA mode and reset (INFO), check the match
///    table and the programs against INFO;
/// 4. install programs and IRQ mode, map BARs, attach;
///    then bus mastering on (Instance.attach); then the device class the
///    plugin offers, if any (DeviceClasses);
/// 5. run --call commands, or the loop until SIGTERM / control "stop";
/// 6. detach, close the handle (the kernel runs the release program), exit 0;
///    or, after a device error (AER), close without detach and exit 42.
public enum DriverHost {
    public static func run(_ options: Options, output: (String) -> Void) -> ExitCode {
        let log = Log(prefix: "driverhost[\(options.bdf ?? "simulated")]", threshold: options.logLevel)
        let control = options.controlFD.map {
            ControlChannel(Descriptor(taking: $0), listener: options.listenFD.map(Descriptor.init(taking:)))
        }
        if control != nil {
            // Under a supervisor that may die and come back: a write to its
            // channel or log pipe must neither kill (SIGPIPE) nor block.
            cdh_ignore_sigpipe()
            _ = cdh_stderr_nonblocking_if_pipe()
        }
        let code: ExitCode
        do {
            try runChecked(options, control: control, log: log, output: output)
            code = .success
        } catch {
            log(.error, error.message)
            // The supervisor shows why, not only the exit code.
            control?.send(DriverhostMessage.failed(error.message))
            code = error.exitCode
        }
        // A supervisor that adopted this process is not its parent: it
        // learns the exit code only from here.
        control?.send(DriverhostMessage.exit(code.rawValue))
        return code
    }

    /// --end-device: no plugin, no device; ends a class device that an
    /// instance left behind (the supervisor's unload or final failure).
    public static func endDevice(_ device: ClassDevice) -> ExitCode {
        let log = Log(prefix: "driverhost[end \(device.kind) \(device.name)]", threshold: .info)
        do {
            try DeviceClasses.end(kind: device.kind, name: device.name)
            return .success
        } catch {
            log(.error, error.message)
            return error.exitCode
        }
    }

    /// --describe: steps 1-2 only. A refusal exits with the same code a
    /// real start would have (ExitCode), its message on stderr.
    public static func describe(_ options: Options, output: (String) -> Void) -> ExitCode {
        let log = Log(prefix: "driverhost[describe]", threshold: options.logLevel)
        do {
            let library = try PluginLibrary(path: options.plugin!)
            let descriptor = try PluginDescriptor(entry: library.entry, path: library.path)
            output(descriptor.json)
            return .success
        } catch {
            log(.error, error.message)
            return error.exitCode
        }
    }

    static func runChecked(_ options: Options, control: ControlChannel?, log: Log, output: (String) -> Void) throws(HostFailure) {
        let signalFD = cdh_signalfd_for_termination()
        guard signalFD >= 0 else { throw HostFailure(.internalError, "\(SystemCallError.last("signalfd"))") }
        let signals = Descriptor(taking: signalFD)
        try CallbackWatchdog.start()

        let library = try PluginLibrary(path: options.plugin!)
        let descriptor = try PluginDescriptor(entry: library.entry, path: library.path)
        for call in options.calls where descriptor.command(named: call.name) == nil {
            throw HostFailure(.commandFailed, "plugin \(descriptor.name) has no command \"\(call.name)\"")
        }
        var restartCount = options.restartCount
        var classDevice = options.classDevice
        if let pattern = options.netNamePattern { NetClass.namePattern = pattern }
        if options.standby, let controlFD = control?.descriptorNumber {
            // The standby runs what a restart runs first once while it
            // waits, not first after a crash (StandbyWarmUp).
            StandbyWarmUp.deviceOpen(bdf: options.bdf)
            // Which class a plugin serves is known only after its attach:
            // any plugin that may serve one warms the frame path (a block
            // plugin too; it costs the idle standby a few ms).
            if descriptor.raw.get_extension != nil { StandbyWarmUp.netFramePath() }
            log(.debug, "standby: plugin \(descriptor.name) \(descriptor.version) validated, waiting for start")
            guard let start = try Standby.awaitStart(control: controlFD, signals: signals.raw) else {
                log(.debug, "standby: not started")
                return
            }
            restartCount = start.restartCount
            classDevice = start.classDevice
            NetClass.handedQueues = start.handed.map { Descriptor(taking: $0) }
            NetClass.handedCarrierGraceMs = start.carrierGraceMs
        }

        let openBegan = cdh_monotonic_ns()
        let device: DeviceBackend
        if options.simulate {
            do { device = try SimulatedDevice() } catch { throw HostFailure(.internalError, "\(error)") }
        } else if let name = options.bdf.flatMap(SimDevice.name(fromDevice:)) {
            device = try SimDevice(name: name, log: log)
        } else {
            device = try ProxyDevice(path: options.deviceNode ?? ProxyDevice.nodePath(forBDF: options.bdf!))
        }
        defer { device.close() }
        let openEnded = cdh_monotonic_ns()
        let info = device.info
        for (level, line) in info.safetyReport { log(level, line) }
        guard descriptor.matches(info) else {
            throw HostFailure(.deviceNotMatched, "plugin \(descriptor.name) does not drive device \(hex(info.vendor)):\(hex(info.device)) (subsystem \(hex(info.subvendor)):\(hex(info.subdevice)), class \(String(info.classCode, radix: 16)))")
        }
        try descriptor.validatePrograms(for: info)

        var identity = options.bdf.flatMap { InstanceIdentity(bdf: $0) } ?? InstanceIdentity()
        identity.restartCount = restartCount
        let instance = try Instance(descriptor: descriptor, device: device, identity: identity,
                                    log: log, state: StateStore(path: options.stateFile),
                                    limits: options.limits, signals: signals, control: control)
        instance.forcedIRQMode = options.irqMode
        let setUpBegan = cdh_monotonic_ns()
        try instance.setUpDevice()
        let attachBegan = cdh_monotonic_ns()
        try instance.attach()
        // The durations are a restart's own cost, beside the kernel's; a
        // standby's also say how long after its start came it got here.
        let opened = "device open \(Log.milliseconds(since: openBegan, until: openEnded)) ms"
            + (Standby.startedNs.map { ", \(Log.milliseconds(since: $0)) ms after the start came" } ?? "")
        log(.info, "plugin \(descriptor.name) \(descriptor.version) attached (set-up \(Log.milliseconds(since: setUpBegan, until: attachBegan)) ms, attach \(Log.milliseconds(since: attachBegan)) ms; \(opened))")
        defer { instance.detach() }
        if !options.noDeviceClass { try instance.startDeviceClass(known: classDevice) }

        if !options.calls.isEmpty {
            for call in options.calls {
                if let stop = instance.pendingStop {
                    try failOnDeviceError(stop)
                    log(.info, "stopping before \(call.name): \(stop)")
                    return
                }
                let result = try instance.call(call.name, arguments: call.arguments)
                output("\(call.name)(\(call.arguments.joined(separator: ","))) = \(TerminalText.escape(result.text))")
            }
            if let stop = instance.pendingStop { try failOnDeviceError(stop) }
            return
        }
        if let stop = instance.pendingStop { try failOnDeviceError(stop) }
        // "attached" once the loop's first round has run what was ready:
        // a plugin that starts its device from a timer set to fire at once
        // has done so, and what the supervisor does on "attached" (start
        // the next standby) no longer competes with that start for the CPU.
        let reason = try instance.runLoop(started: {
            instance.announceAttached()
            instance.startCounterReports()
        })
        if let reason { try failOnDeviceError(reason) }
        log(.info, "stopping: \(reason.map { "\($0)" } ?? "done")")
    }

    /// A device error ends driverhost with its own exit code, for the
    /// supervisor to restart it once the proxy has released (and reset) the
    /// device. The instance does not detach (see Instance.detach).
    private static func failOnDeviceError(_ reason: StopReason) throws(HostFailure) {
        guard case .deviceError(let report) = reason else { return }
        throw HostFailure(.deviceError, "\(report); letting the device go to be released and reset")
    }

    private static func hex(_ value: UInt16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
