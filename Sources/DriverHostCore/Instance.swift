import CDrvHost
import CommandValue
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// Who this instance is, as the plugin sees it in dh_instance_info.
public struct InstanceIdentity: Sendable {
    public var domain: UInt16 = 0
    public var bus: UInt8 = 0
    public var slot: UInt8 = 0
    public var function: UInt8 = 0
    public var restartCount: UInt32 = 0

    public init() {}

    /// Parses a PCI address (PCIAddress: "dddd:bb:ss.f" or "bb:ss.f").
    public init?(bdf: String, restartCount: UInt32 = 0) {
        guard let address = PCIAddress(bdf) else { return nil }
        self.domain = address.domain
        self.bus = address.bus
        self.slot = address.slot
        self.function = address.function
        self.restartCount = restartCount
    }
}

extension NetInterfaceName {
    public static func make(pattern: String, plugin: String, identity: InstanceIdentity) -> String {
        make(pattern: pattern, plugin: plugin, domain: identity.domain, bus: identity.bus, slot: identity.slot,
             function: identity.function)
    }
}

/// One device driven by one plugin: owns the device backend, the plugin's
/// context, its DMA buffers and timers, and implements the host table.
/// Everything runs on the loop thread.
public final class Instance {
    public let descriptor: PluginDescriptor
    public let device: DeviceBackend
    public let identity: InstanceIdentity
    let log: Log
    let state: StateStore
    let watchdog = CallbackWatchdog()
    /// hostctl trace (off unless hostd asks) and callback durations.
    let trace = Trace()
    let timing = CallbackTiming()
    let attachBound: CallbackWatchdog.Bound
    let callbackBound: CallbackWatchdog.Bound
    let commandBound: CallbackWatchdog.Bound
    let timerBound: CallbackWatchdog.Bound
    let detachBound: CallbackWatchdog.Bound

    private(set) var context: UnsafeMutableRawPointer?
    private var barBases: [UnsafeMutableRawPointer?] = Array(repeating: nil, count: Int(DH_NUM_BARS))
    private var barSizes: [UInt64]
    private var dmaBuffers: [UInt32: DMAAllocation] = [:]
    var timers: [Descriptor?] = Array(repeating: nil, count: Int(DH_MAX_TIMERS))
    private var reportedBadAccess = false
    /// interrupt() or timer() is running: wait_events is not allowed there.
    var inEventCallback = false
    private(set) var isAttached = false
    /// `--irq-mode`: this mode instead of the descriptor's (InterruptPlan).
    public var forcedIRQMode: UInt32?
    /// The interrupt mode and vectors in force (setUpDevice).
    private(set) var irqMode: UInt32 = 0
    private(set) var irqVectors: UInt32 = 0
    /// attach() is running; busMasterEarly: it called enable_bus_master.
    private var inAttach = false
    private var busMasterEarly = false
    private(set) var loop: EventLoop!
    /// The device class served for the plugin, if it offers one (DeviceClasses).
    var classServer: (any DeviceClassServer)?
    private let hostTable: UnsafeMutablePointer<dh_host>
    private let interruptCallback: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_event>?) -> Void)?

    public static let defaultAttachBoundMs: UInt32 = 10_000
    public static let defaultCallbackBoundMs: UInt32 = 2_000

    public init(descriptor: PluginDescriptor, device: DeviceBackend, identity: InstanceIdentity,
                log: Log, state: StateStore, limits: CallbackLimits = CallbackLimits(),
                signals: Descriptor? = nil, control: ControlChannel? = nil) throws(HostFailure) {
        self.descriptor = descriptor
        self.device = device
        self.identity = identity
        self.log = log
        self.state = state
        let raw = descriptor.raw
        // The declared bound, capped by the host: a plugin cannot buy
        // itself unbounded time.
        let attachMs = CallbackLimits.bound(declared: raw.attach_timeout_ms, fallback: Instance.defaultAttachBoundMs,
                                            cap: limits.maxAttachMs)
        let callbackMs = CallbackLimits.bound(declared: raw.callback_timeout_ms, fallback: Instance.defaultCallbackBoundMs,
                                              cap: limits.maxCallbackMs)
        if raw.attach_timeout_ms > limits.maxAttachMs || raw.callback_timeout_ms > limits.maxCallbackMs {
            log(.info, "plugin \(descriptor.name): declared bounds capped: attach \(attachMs) ms, callbacks \(callbackMs) ms")
        }
        func bound(_ ms: UInt32, _ what: StaticString) -> CallbackWatchdog.Bound {
            .init(nanoseconds: UInt64(ms) * 1_000_000, what: what)
        }
        attachBound = bound(attachMs, "attach()")
        callbackBound = bound(callbackMs, "interrupt()")
        timerBound = bound(callbackMs, "timer()")
        commandBound = bound(callbackMs, "command")
        detachBound = bound(callbackMs, "detach()")
        interruptCallback = raw.interrupt
        barSizes = device.info.bars.map(\.size)
        hostTable = .allocate(capacity: 1)
        hostTable.initialize(to: HostTable.make())
        do {
            loop = try EventLoop(instance: self, signals: signals, control: control)
        } catch {
            throw HostFailure(.internalError, "cannot set up the event loop: \(error)")
        }
        guard cdh_handle_register(UnsafeRawPointer(handle)) == 0 else {
            throw HostFailure(.internalError, "more than \(CDH_MAX_LIVE_HANDLES) instances in one process")
        }
    }

    deinit {
        cdh_handle_unregister(UnsafeRawPointer(handle))
        hostTable.deallocate()
    }

    /// The opaque handle the plugin gets: this object, unretained.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// The instance behind a handle, without reference counting, or
    /// `invalid` when the handle is not one this host gave out and still
    /// holds: NULL and made-up pointers answer an error, never a crash.
    /// (A handle is registered only while its instance exists.)
    @inline(__always)
    static func with<R>(_ handle: OpaquePointer?, invalid: R, _ body: (Instance) -> R) -> R {
        guard let handle, cdh_handle_is_live(UnsafeRawPointer(handle)) != 0 else { return invalid }
        return Unmanaged<Instance>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef(body)
    }

    // MARK: Device setup

    /// Programs, IRQ mode and BAR mappings, in that order: the ACK program must
    /// be in place before the first interrupt can arrive.
    public func setUpDevice() throws(HostFailure) {
        let raw = descriptor.raw
        func setupFailed(_ what: String, _ error: Errno) -> HostFailure {
            HostFailure(.deviceSetupFailed, "\(what): \(error)")
        }
        if !descriptor.releaseProgram.isEmpty {
            try descriptor.releaseProgram.withUnsafeBufferPointer { program throws(HostFailure) in
                try device.install(.release, program, flags: raw.release_flags)
            }
        }
        try setInterrupts()
        for index in 0..<Int(DH_NUM_BARS) where barSizes[index] > 0 {
            do {
                barBases[index] = try device.mapBAR(index)
            } catch {
                throw setupFailed("cannot map BAR\(index)", error)
            }
        }
    }

    /// The first mode of the plan that the device takes; its ACK program
    /// first, when the step has one, so that it is there before the first
    /// interrupt.
    private func setInterrupts() throws(HostFailure) {
        let raw = descriptor.raw
        let plan = InterruptPlan(declared: raw.irq_mode, vectors: raw.msix_vectors, forced: forcedIRQMode,
                                 hasAck: !descriptor.ackProgram.isEmpty, ackModes: descriptor.raw.ack_modes,
                                 device: device.info)
        var refused: [String] = []
        for step in plan.steps {
            if step.withAck {
                try descriptor.ackProgram.withUnsafeBufferPointer { program throws(HostFailure) in
                    try device.install(.ack, program, flags: 0)
                }
            }
            do {
                try device.setInterruptMode(step.mode, vectors: step.vectors)
            } catch {
                refused.append("\(InterruptPlan.name(of: step.mode)): \(error)")
                continue
            }
            irqMode = step.mode
            irqVectors = step.vectors
            if step.mode != raw.irq_mode || (step.mode == DH_IRQ_MSIX.rawValue && step.vectors != raw.msix_vectors) {
                let why = forcedIRQMode != nil ? "forced by --irq-mode" : refused.isEmpty ? "what the device offers" : "refused: " + refused.joined(separator: "; ")
                log(.info, "plugin \(descriptor.name): interrupts \(InterruptPlan.name(of: step.mode))"
                    + (step.mode == DH_IRQ_MSIX.rawValue ? " with \(step.vectors) vectors" : "")
                    + " instead of \(InterruptPlan.name(of: raw.irq_mode)) (\(why))")
            }
            return
        }
        throw HostFailure(.deviceSetupFailed, "cannot set an interrupt mode for plugin \(descriptor.name) ("
                          + (refused.isEmpty ? "the device offers none it can use" : refused.joined(separator: "; ")) + ")")
    }

    // MARK: Calls into the plugin

    public func attach() throws(HostFailure) {
        var context: UnsafeMutableRawPointer?
        let attach = descriptor.raw.attach!
        let host = UnsafePointer(hostTable)
        inAttach = true
        let result = timed(CDH_CALLBACK_ATTACH) { watchdog.guarding(attachBound) { attach(host, handle, &context) } }
        inAttach = false
        guard result == DH_OK else {
            // The device may have been mastering the bus: stop it before
            // its buffers go.
            if busMasterEarly { try? device.setBusMaster(false) }
            freeAllDMA()
            throw HostFailure(.attachFailed, "plugin \(descriptor.name): attach failed (\(HostTable.errorName(result)))")
        }
        self.context = context
        isAttached = true
        // Only now may the device master the bus (DMA, MSI): the proxy
        // reset it at open and left bus mastering off, so a device that a
        // crashed driver left running cannot write memory until the plugin
        // has set it up again. Not on a device that reported an error.
        guard !loop.hasDeviceError else { return }
        do {
            try device.setBusMaster(true)
        } catch {
            detach()
            throw HostFailure(.deviceSetupFailed, "cannot turn bus mastering on: \(error)")
        }
    }

    /// dh_host.enable_bus_master: the plugin says its device is set up
    /// and may master the bus before attach returns (see plugin.h).
    func enableBusMasterInAttach() -> Int32 {
        guard inAttach else { return DH_ERR_STATE }
        guard !loop.hasDeviceError else { return DH_ERR_IO }
        do {
            try device.setBusMaster(true)
            busMasterEarly = true
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): cannot turn bus mastering on: \(error)")
            return DH_ERR_IO
        }
    }

    public func detach() {
        guard isAttached else { return }
        isAttached = false
        // After a device error the plugin is not called again: as after a
        // crash, the release program stands in for detach, and closing the
        // handle frees the rest.
        classServer?.stop()
        guard !loop.hasDeviceError else { return }
        let detach = descriptor.raw.detach!
        let context = self.context
        timed(CDH_CALLBACK_DETACH) { watchdog.guarding(detachBound) { detach(context) } }
        for id in 0..<timers.count { stopTimer(UInt32(id)) }
        freeAllDMA()
    }

    @inline(__always)
    func deliver(_ event: UnsafePointer<dh_event>) {
        guard let interrupt = interruptCallback else { return }
        let context = self.context
        inEventCallback = true
        if _slowPath(timing.interruptDue()) {
            timed(CDH_CALLBACK_INTERRUPT, event: event) { watchdog.guarding(callbackBound) { interrupt(context, event) } }
        } else {
            watchdog.guarding(callbackBound) { interrupt(context, event) }
        }
        inEventCallback = false
    }

    func timerFired(_ id: UInt32) {
        guard let timer = descriptor.raw.timer else { return }
        let context = self.context
        inEventCallback = true
        timed(CDH_CALLBACK_TIMER) { watchdog.guarding(timerBound) { timer(context, id) } }
        inEventCallback = false
    }

    /// Invokes a command with arguments given as text, parsed by its
    /// declared signature; returns its typed result.
    public func call(_ name: String, arguments: [String]) throws(HostFailure) -> CommandValue {
        guard let command = descriptor.command(named: name) else {
            let known = descriptor.commands.map { "\($0.name) \($0.signature)" }.joined(separator: ", ")
            throw HostFailure(.commandFailed, "plugin \(descriptor.name) has no command \"\(name)\" (it has: \(known.isEmpty ? "none" : known))")
        }
        let signature = command.signature
        guard arguments.count == signature.arguments.count else {
            throw HostFailure(.commandFailed, "command \(name) is \(signature): it takes \(signature.arguments.count) argument(s), \(arguments.count) given")
        }
        let call: CommandCall
        do {
            call = try CommandCall(signature, arguments: arguments)
        } catch {
            throw HostFailure(.commandFailed, "command \(name) is \(signature): \(error.description)")
        }
        let context = self.context
        let called = timed(CDH_CALLBACK_COMMAND) { watchdog.guarding(commandBound) { call.invoke(command.function, context: context) } }
        guard called else { throw HostFailure(.commandFailed, "libffi cannot call \(name) as \(signature)") }
        do {
            return try call.result()
        } catch {
            throw HostFailure(.commandFailed, "command \(name): \(error.description)")
        }
    }

    /// A callback timed for the metrics (CallbackTiming) and, while
    /// tracing, recorded with the event it was given. The time includes
    /// nested waits (a command waiting for its interrupt): it is how long
    /// the plugin kept the loop.
    @inline(never)
    @discardableResult
    private func timed<T>(_ which: cdh_trace_callback, event: UnsafePointer<dh_event>? = nil, _ body: () -> T) -> T {
        if trace.isOn, let event { trace.event(event) }
        let start = cdh_monotonic_ns()
        let result = body()
        let duration = cdh_monotonic_ns() &- start
        timing.add(which, durationNs: duration)
        if trace.isOn { trace.callback(which, start: start, duration: duration) }
        return result
    }

    /// "trace on"/"trace off" from hostd (hostctl trace); the dispatch
    /// benchmark too.
    public func setTracing(_ on: Bool) {
        guard on else {
            guard trace.isOn else { return }
            trace.stop()
            timing.timesEveryInterrupt = false
            log(.info, "plugin \(descriptor.name): tracing off (\(trace.dropped) records dropped in all)")
            return
        }
        guard !trace.isOn else { return }
        guard trace.start(watching: { fd throws(Errno) in try loop.addTraceTimer(fd) }) else {
            log(.warning, "plugin \(descriptor.name): cannot start tracing (no memory or no timer)")
            return
        }
        timing.timesEveryInterrupt = true
        log(.info, "plugin \(descriptor.name): tracing on")
    }

    /// Runs the event loop (see EventLoop.run).
    public func runLoop(stopAfterEvents limit: UInt64 = .max, started: (() -> Void)? = nil) throws(HostFailure) -> StopReason? {
        do {
            return try loop.run(stopAfterEvents: limit, started: started)
        } catch {
            throw HostFailure(.loopFailed, "event loop: \(error)")
        }
    }

    /// A termination signal, control "stop" or device error that came
    /// during attach or a command.
    public var pendingStop: StopReason? { loop.pendingStop }

    public func announceAttached() {
        loop.announceAttached()
    }

    // MARK: Host functions (called by the plugin through HostTable)

    @inline(__always)
    private func registerBase(_ bar: UInt32, _ offset: UInt64, _ width: UInt64) -> (UnsafeMutableRawPointer?, Bool) {
        guard bar < UInt32(DH_NUM_BARS), offset % width == 0, offset < barSizes[Int(bar)],
              barSizes[Int(bar)] - offset >= width else {
            if !reportedBadAccess {
                reportedBadAccess = true
                log(.error, "plugin \(descriptor.name): bad register access: BAR\(bar) offset 0x\(String(offset, radix: 16)) width \(width) (reported once)")
            }
            return (nil, false)
        }
        return (barBases[Int(bar)], true)
    }

    /// Register access through the host table; traced while tracing is on
    /// (a direct BAR pointer's accesses never are: the host does not see them).
    @inline(__always)
    func readRegister(_ bar: UInt32, _ offset: UInt64, width: UInt64) -> UInt64 {
        let value = readRegisterUntraced(bar, offset, width: width)
        if _slowPath(trace.isOn) { trace.register(write: false, bar: bar, offset: offset, width: width, value: value) }
        return value
    }

    @inline(__always)
    func writeRegister(_ bar: UInt32, _ offset: UInt64, width: UInt64, value: UInt64) {
        if _slowPath(trace.isOn) { trace.register(write: true, bar: bar, offset: offset, width: width, value: value) }
        writeRegisterUntraced(bar, offset, width: width, value: value)
    }

    @inline(__always)
    private func readRegisterUntraced(_ bar: UInt32, _ offset: UInt64, width: UInt64) -> UInt64 {
        let (base, valid) = registerBase(bar, offset, width)
        guard valid else { return ~0 }
        guard let base else { return device.readRegister(bar: Int(bar), offset: offset, width: Int(width)) }
        switch width {
        case 1: return UInt64(cdh_mmio_read8(base, offset))
        case 2: return UInt64(cdh_mmio_read16(base, offset))
        case 4: return UInt64(cdh_mmio_read32(base, offset))
        default: return cdh_mmio_read64(base, offset)
        }
    }

    @inline(__always)
    private func writeRegisterUntraced(_ bar: UInt32, _ offset: UInt64, width: UInt64, value: UInt64) {
        let (base, valid) = registerBase(bar, offset, width)
        guard valid else { return }
        guard let base else {
            device.writeRegister(bar: Int(bar), offset: offset, width: Int(width), value: value)
            return
        }
        switch width {
        case 1: cdh_mmio_write8(base, offset, UInt8(truncatingIfNeeded: value))
        case 2: cdh_mmio_write16(base, offset, UInt16(truncatingIfNeeded: value))
        case 4: cdh_mmio_write32(base, offset, UInt32(truncatingIfNeeded: value))
        default: cdh_mmio_write64(base, offset, value)
        }
    }

    func barPointer(_ bar: UInt32) -> (Int32, UnsafeMutableRawPointer?, UInt64) {
        guard bar < UInt32(DH_NUM_BARS), barSizes[Int(bar)] > 0 else { return (DH_ERR_INVALID, nil, 0) }
        guard let base = barBases[Int(bar)] else { return (DH_ERR_NOT_SUPPORTED, nil, 0) }
        return (DH_OK, base, barSizes[Int(bar)])
    }

    func setDMAMask(_ bits: UInt32) -> Int32 {
        guard (12...64).contains(bits) else { return DH_ERR_INVALID }
        do {
            try device.setDMAMask(bits: bits)
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): \(error)")
            return DH_ERR_IO
        }
    }

    func allocateDMA(_ size: UInt64, _ out: UnsafeMutablePointer<dh_dma_buffer>?) -> Int32 {
        guard let out, size > 0, size <= UInt64(DRVPROXY_MAX_DMA_SIZE) else { return DH_ERR_INVALID }
        guard dmaBuffers.count < Int(DRVPROXY_MAX_DMA_BUFFERS) else { return DH_ERR_NO_MEMORY }
        do {
            let buffer = try device.allocateDMA(size: size)
            dmaBuffers[buffer.id] = buffer
            // The handle is the buffer id + 1, so that it is never NULL.
            out.pointee = dh_dma_buffer(handle: OpaquePointer(bitPattern: UInt(buffer.id) + 1), cpu: buffer.cpu,
                                        bus_addr: buffer.busAddress, size: buffer.size)
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): \(error)")
            return error.code == ENOMEM ? DH_ERR_NO_MEMORY : DH_ERR_IO
        }
    }

    func freeDMA(_ handle: OpaquePointer?) -> Int32 {
        // A handle is a buffer id + 1 (never 0); anything that does not
        // convert back exactly (NULL, above UInt32.max + 1) names no buffer,
        // and must not alias one by truncation.
        guard let handle, let id = UInt32(exactly: UInt(bitPattern: handle) - 1) else { return DH_ERR_NOT_FOUND }
        guard let buffer = dmaBuffers.removeValue(forKey: id) else { return DH_ERR_NOT_FOUND }
        do {
            try device.freeDMA(buffer)
            return DH_OK
        } catch {
            return DH_ERR_IO
        }
    }

    private func freeAllDMA() {
        for buffer in dmaBuffers.values { try? device.freeDMA(buffer) }
        dmaBuffers.removeAll()
    }

    func unmask() -> Int32 {
        do {
            try device.unmask()
            return DH_OK
        } catch {
            return DH_ERR_IO
        }
    }

    func startTimer(_ id: UInt32, first: UInt64, period: UInt64) -> Int32 {
        guard id < UInt32(DH_MAX_TIMERS), first > 0 else { return DH_ERR_INVALID }
        guard descriptor.raw.timer != nil else { return DH_ERR_NOT_SUPPORTED }
        do {
            if timers[Int(id)] == nil {
                let timer = Descriptor(taking: try systemCall("timerfd_create") { cdh_timerfd_create() })
                try loop.addTimer(timer, id: id)
                timers[Int(id)] = timer
            }
            _ = try systemCall("timerfd_settime") { cdh_timerfd_set(timers[Int(id)]!.raw, first, period) }
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): timer \(id): \(error)")
            return DH_ERR_IO
        }
    }

    @discardableResult
    func stopTimer(_ id: UInt32) -> Int32 {
        guard id < UInt32(DH_MAX_TIMERS) else { return DH_ERR_INVALID }
        if let timer = timers[Int(id)] {
            // Disarming also clears expirations not yet read.
            _ = cdh_timerfd_set(timer.raw, 0, 0)
        }
        return DH_OK
    }

    func fillInfo(_ out: UnsafeMutablePointer<dh_instance_info>?) -> Int32 {
        guard let out else { return DH_ERR_INVALID }
        let wanted = Int(out.pointee.struct_size)
        guard wanted >= MemoryLayout<UInt32>.size else { return DH_ERR_INVALID }
        var info = dh_instance_info()
        let device = self.device.info
        info.struct_size = UInt32(min(wanted, MemoryLayout<dh_instance_info>.size))
        info.pci_domain = identity.domain
        info.pci_bus = identity.bus
        info.pci_slot = identity.slot
        info.pci_function = identity.function
        info.restart_count = identity.restartCount
        info.vendor = device.vendor
        info.device = device.device
        info.subvendor = device.subvendor
        info.subdevice = device.subdevice
        info.class_code = device.classCode
        info.irq_mode = irqMode
        info.irq_vectors = irqVectors
        info.dma_mask_bits = device.dmaMaskBits
        withUnsafeMutableBytes(of: &info.bar_size) { bytes in
            for (i, size) in barSizes.prefix(Int(DH_NUM_BARS)).enumerated() {
                bytes.storeBytes(of: size, toByteOffset: i * 8, as: UInt64.self)
            }
        }
        withUnsafeMutableBytes(of: &info.bar_kind) { kinds in
            for (i, bar) in device.bars.prefix(Int(DH_NUM_BARS)).enumerated() where barSizes[i] > 0 {
                kinds[i] = UInt8(bar.isMemory ? DH_BAR_MEMORY : DH_BAR_IO)
            }
        }
        info.irq_line = device.irqLine
        info.msix_vectors = device.msixVectors
        let filled = Int(info.struct_size)
        withUnsafeBytes(of: &info) { source in
            UnsafeMutableRawPointer(out).copyMemory(from: source.baseAddress!, byteCount: filled)
        }
        return DH_OK
    }

    func waitEvents(timeoutNs: UInt64) -> Int32 {
        guard !inEventCallback else { return DH_ERR_STATE }
        guard !loop.hasDeviceError else { return DH_ERR_IO }
        do {
            let delivered = try loop.waitNested(timeoutNs: timeoutNs)
            if loop.hasDeviceError { return DH_ERR_IO }
            return delivered > 0 ? DH_OK : DH_ERR_TIMEOUT
        } catch {
            log(.error, "wait_events: \(error)")
            return DH_ERR_IO
        }
    }
}
