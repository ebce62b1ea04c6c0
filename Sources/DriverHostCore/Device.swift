import CDrvHost
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

extension DeviceInfo {
    /// The BAR table in the form regprog_validate wants.
    var regprogBars: [regprog_bar] {
        bars.map { regprog_bar(size: $0.size, is_io: !$0.isMemory, protect: (regprog_range(), regprog_range())) }
    }
}

public struct DMAAllocation {
    public var id: UInt32
    public var cpu: UnsafeMutableRawPointer
    public var busAddress: UInt64
    public var size: UInt64
}

public enum ProgramKind: UInt32, Sendable {
    case ack = 1      // DRVPROXY_PROG_ACK
    case release = 2  // DRVPROXY_PROG_RELEASE
}

/// The kernel side of one device instance: the real proxy, or a simulation
/// for tests and benchmarks. Everything but the register accessors runs on
/// the loop thread.
public protocol DeviceBackend: AnyObject {
    var info: DeviceInfo { get }
    /// Readable (epoll) when events are pending.
    var eventDescriptor: Int32 { get }
    /// Reads pending events into `buffer`; returns how many (0: none).
    func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(SystemCallError) -> Int
    func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure)
    func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(SystemCallError)
    func unmask() throws(SystemCallError)
    /// The BAR mapped into this process, or nil (I/O BAR, simulation).
    func mapBAR(_ index: Int) throws(SystemCallError) -> UnsafeMutableRawPointer?
    /// Register access for BARs that mapBAR did not map.
    func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64
    func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64)
    func setDMAMask(bits: UInt32) throws(SystemCallError)
    func allocateDMA(size: UInt64) throws(SystemCallError) -> DMAAllocation
    func freeDMA(_ allocation: DMAAllocation) throws(SystemCallError)
    /// Bus mastering (the device's DMA and MSI) on or off. The proxy has it
    /// off after open; driverhost turns it on once attach has set the device up.
    func setBusMaster(_ enabled: Bool) throws(SystemCallError)
    /// Gives the device up; for the proxy this runs the release program.
    func close()
}
