import CDrvHost

/// What a simulated PCI function says about itself: the INFO answer.
public struct ModelIdentity: Sendable {
    public var vendor: UInt16
    public var device: UInt16
    public var subvendor: UInt16
    public var subdevice: UInt16
    public var classCode: UInt32
    public var revision: UInt8
    /// Memory BAR sizes, index = BAR number; 0 = absent. At most six.
    public var barSizes: [UInt64]
    /// DRVPROXY_IRQ_KIND_* the function offers.
    public var irqKinds: UInt32
    /// DMA addressing width after power-on (the kernel's default mask).
    public var dmaMaskBits: UInt32
    /// Whether the function has a reset method (FLR and the like). drvproxy
    /// resets such a function at open and at every release; one without is
    /// left to its release program.
    public var hasResetMethod: Bool

    public init(vendor: UInt16, device: UInt16, subvendor: UInt16, subdevice: UInt16, classCode: UInt32,
                revision: UInt8, barSizes: [UInt64], irqKinds: UInt32, dmaMaskBits: UInt32,
                hasResetMethod: Bool = false) {
        self.vendor = vendor
        self.device = device
        self.subvendor = subvendor
        self.subdevice = subdevice
        self.classCode = classCode
        self.revision = revision
        self.barSizes = barSizes
        self.irqKinds = irqKinds
        self.dmaMaskBits = dmaMaskBits
        self.hasResetMethod = hasResetMethod
    }
}

/// What a device model can do to the outside world: the PCI bus as the
/// model sees it. devsim's SimulatedFunction implements it.
public protocol DeviceBus: AnyObject {
    /// Set the level of the INTx pin (level-triggered: stays asserted until
    /// the model lowers it).
    func setInterruptLine(asserted: Bool)
    /// Send one MSI message (edge: one message, one interrupt).
    func signalMSI()
    /// Whether the driver enabled MSI; a model then signals MSI, not INTx.
    var msiEnabled: Bool { get }
    /// Copy from / to host memory at a bus address, as a bus master. false:
    /// bus mastering is off or the range is not DMA memory the owner
    /// allocated (the transfer then does nothing, like a master abort).
    func dmaRead(busAddress: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Bool
    func dmaWrite(busAddress: UInt64, from buffer: UnsafeRawBufferPointer) -> Bool
    /// Log a line about the model's behaviour (bad accesses, guest errors).
    func note(_ message: String)
}

/// A simulated device: registers with side effects and work that completes
/// later. All calls come from devsim's one thread.
///
/// To add a model: implement this protocol in one file, and add it to
/// `DeviceModels.all` (see Sources/devsim/README.md).
public protocol DeviceModel: AnyObject {
    var identity: ModelIdentity { get }
    /// Called once, before any other call.
    func connect(to bus: DeviceBus)
    /// A register access by the driver or a register program. Offsets are
    /// inside the BAR and aligned to the width (1, 2, 4 or 8).
    func read(bar: Int, offset: UInt64, width: Int) -> UInt64
    func write(bar: Int, offset: UInt64, width: Int, value: UInt64)
    /// When the next piece of timed work is due (CLOCK_MONOTONIC ns), or nil.
    var nextDeadline: UInt64? { get }
    /// Complete the work that is due at `now`.
    func advance(to now: UInt64)
    /// A PCI function reset: back to the power-on state.
    func reset()
}

/// The models devsim knows, by the name used on its command line.
public enum DeviceModels {
    public static let all: [String: @Sendable () -> DeviceModel] = [
        "edu": { EduModel() },
    ]

    public static var names: [String] { all.keys.sorted() }
}
