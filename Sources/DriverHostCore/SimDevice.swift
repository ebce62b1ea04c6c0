import CDevSim
import CDrvHost
import Glibc
import DevSimClient
import DrvHostSystem
import DrvHostProtocol

/// A device simulated by devsim (`--device sim:NAME`), behind the same
/// contract as drvproxy. Registers go through devsim (the model gives them
/// side effects), so no BAR is mapped and bar_pointer answers
/// DH_ERR_NOT_SUPPORTED; DMA buffers are memfds devsim shares with us.
/// Closing the connection, or dying, makes devsim run the release sequence.
public final class SimDevice: DeviceBackend {
    public static let prefix = DevSimConnection.devicePrefix
    public let info: DeviceInfo
    private let connection: DevSimConnection
    private let events: Descriptor
    private var mappings: [UInt32: (UnsafeMutableRawPointer, Int)] = [:]
    private var reportedBrokenConnection = false
    private let log: Log?

    /// "sim:edu0" -> "edu0"; nil for anything else.
    public static func name(fromDevice device: String) -> String? { DevSimConnection.name(fromDevice: device) }

    public init(name: String, directory: String = DevSimConnection.defaultDirectory, log: Log? = nil) throws(HostFailure) {
        connection = try DevSimConnection(name: name, directory: directory, role: .owner)
        guard let events = connection.events else {
            throw HostFailure(.deviceSetupFailed, "sim:\(name): devsim sent no event descriptor")
        }
        self.events = events
        self.log = log
        let raw = connection.info
        guard raw.abi_version == UInt32(DRVPROXY_ABI_VERSION) else {
            throw HostFailure(.deviceSetupFailed, "sim:\(name): devsim speaks drvproxy ABI \(raw.abi_version), driverhost \(DRVPROXY_ABI_VERSION)")
        }
        info = DeviceInfo(raw)
    }

    public var eventDescriptor: Int32 { events.raw }

    public func readEvents(into buffer: UnsafeMutablePointer<dh_event>, capacity: Int) throws(SystemCallError) -> Int {
        // Drain the eventfd first: devsim signals again for anything queued later.
        guard try events.readCounter() > 0 else { return 0 }
        let answer = try connection.call(DEVSIM_READ_EVENTS, "read events",
                                         a: (UInt32(min(capacity, Int(DEVSIM_MAX_EVENTS_PER_READ))), 0))
        let count = Int(answer.message.a.0)
        guard answer.payload.count == count * MemoryLayout<dh_event>.stride else { throw SystemCallError(EPROTO, call: "read events") }
        answer.payload.withUnsafeBytes { bytes in
            UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        return count
    }

    public func install(_ kind: ProgramKind, _ program: UnsafeBufferPointer<dh_insn>, flags: UInt32) throws(HostFailure) {
        let answer: DevSimConnection.Answer
        do {
            var message = devsim_msg()
            message.op = UInt32(DEVSIM_SET_PROG.rawValue)
            message.a.0 = kind.rawValue
            message.a.1 = flags
            answer = try connection.request(message, payload: UnsafeRawBufferPointer(program))
        } catch {
            throw HostFailure(.deviceSetupFailed, "sim:\(connection.name): \(error)")
        }
        let status = answer.message.status
        guard status == 0 else {
            let reason = status == -EINVAL
                ? ": \(String(cString: regprog_error_name(answer.message.a.0))) at instruction \(answer.message.a.1)" : ""
            throw HostFailure(.deviceSetupFailed,
                              "sim:\(connection.name): devsim refused the \(kind) program: \(SystemCallError(-status, call: "program").errno)\(reason)")
        }
    }

    public func setInterruptMode(_ mode: UInt32, vectors: UInt32) throws(SystemCallError) {
        try connection.call(DEVSIM_SET_IRQ, "SET_IRQ", a: (mode, max(vectors, 1)))
    }

    public func unmask() throws(SystemCallError) {
        try connection.call(DEVSIM_UNMASK, "UNMASK")
    }

    public func mapBAR(_ index: Int) throws(SystemCallError) -> UnsafeMutableRawPointer? { nil }

    public func readRegister(bar: Int, offset: UInt64, width: Int) -> UInt64 {
        do {
            return try connection.call(DEVSIM_READ, "register read", a: (UInt32(bar), UInt32(width)), b: (offset, 0)).message.b.0
        } catch {
            reportBroken(error)
            return ~0  // what a read from a device that went away gives
        }
    }

    public func writeRegister(bar: Int, offset: UInt64, width: Int, value: UInt64) {
        do {
            try connection.call(DEVSIM_WRITE, "register write", a: (UInt32(bar), UInt32(width)), b: (offset, value))
        } catch {
            reportBroken(error)
        }
    }

    private func reportBroken(_ error: SystemCallError) {
        guard !reportedBrokenConnection else { return }
        reportedBrokenConnection = true
        log?(.error, "sim:\(connection.name): \(error) (reported once)")
    }

    public func setDMAMask(bits: UInt32) throws(SystemCallError) {
        try connection.call(DEVSIM_DMA_MASK, "DMA_MASK", a: (bits, 0))
    }

    public func allocateDMA(size: UInt64) throws(SystemCallError) -> DMAAllocation {
        let answer = try connection.call(DEVSIM_DMA_ALLOC, "DMA_ALLOC", b: (size, 0))
        guard let memory = answer.descriptor else { throw SystemCallError(EPROTO, call: "DMA_ALLOC") }
        let id = answer.message.a.0
        let length = Int(answer.message.b.1)
        guard let cpu = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, memory.raw, 0), cpu != MAP_FAILED else {
            let error = SystemCallError.last("mmap DMA buffer")
            _ = try? connection.call(DEVSIM_DMA_FREE, "DMA_FREE", a: (id, 0))
            throw error
        }
        mappings[id] = (cpu, length)
        return DMAAllocation(id: id, cpu: cpu, busAddress: answer.message.b.0, size: UInt64(length))
    }

    public func freeDMA(_ allocation: DMAAllocation) throws(SystemCallError) {
        if let (base, length) = mappings.removeValue(forKey: allocation.id) { munmap(base, length) }
        try connection.call(DEVSIM_DMA_FREE, "DMA_FREE", a: (allocation.id, 0))
    }

    public func setBusMaster(_ enabled: Bool) throws(SystemCallError) {
        try connection.call(DEVSIM_BUS_MASTER, "BUS_MASTER", a: (enabled ? 1 : 0, 0))
    }

    public func close() {
        for (base, length) in mappings.values { munmap(base, length) }
        mappings.removeAll()
        connection.close()
    }
}
