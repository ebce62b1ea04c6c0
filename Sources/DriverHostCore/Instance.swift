import CDrvHost
import DrvHostSystem
import DrvHostProtocol

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

    // State below is internal, not private: the Instance+*.swift files (one
    // per job) share it. Only the loop thread touches it.
    var context: UnsafeMutableRawPointer?
    var barBases: [UnsafeMutableRawPointer?] = Array(repeating: nil, count: Int(DH_NUM_BARS))
    var barSizes: [UInt64]
    var dmaBuffers: [UInt32: DMAAllocation] = [:]
    var timers: [Descriptor?] = Array(repeating: nil, count: Int(DH_MAX_TIMERS))
    var reportedBadAccess = false
    /// interrupt() or timer() is running: wait_events is not allowed there.
    var inEventCallback = false
    var isAttached = false
    /// `--irq-mode`: this mode instead of the descriptor's (InterruptPlan).
    public var forcedIRQMode: UInt32?
    /// The interrupt mode and vectors in force (setUpDevice).
    var irqMode: UInt32 = 0
    var irqVectors: UInt32 = 0
    /// attach() is running; busMasterEarly: it called enable_bus_master.
    var inAttach = false
    var busMasterEarly = false
    private(set) var loop: EventLoop!
    /// The device class served for the plugin, if it offers one (DeviceClasses).
    var classServer: (any DeviceClassServer)?
    let hostTable: UnsafeMutablePointer<dh_host>
    let interruptCallback: (@convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_event>?) -> Void)?

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
}
