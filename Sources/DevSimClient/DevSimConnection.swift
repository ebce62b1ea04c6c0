import CDevSim
import CDrvHost
import DrvHostProtocol
import DrvHostSystem
import Glibc

/// A client connection to one simulated device in devsim (CDevSim.h has the
/// protocol). driverhost opens one as the owner (SimDevice); tools open one
/// as an observer to read the counters, like reading drvproxy's sysfs.
public final class DevSimConnection {
    /// Devices devsim simulates are named "sim:NAME" wherever PCI
    /// addresses go (--device, hostctl).
    public static let devicePrefix = "sim:"

    /// "sim:edu0" -> "edu0"; nil for anything else.
    public static func name(fromDevice device: String) -> String? {
        guard device.hasPrefix(devicePrefix) else { return nil }
        let name = device.dropFirst(devicePrefix.count)
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        return name.isEmpty || !allowed ? nil : String(name)
    }

    public enum Role: UInt32 {
        case owner = 1     // DEVSIM_ROLE_OWN
        case observer = 2  // DEVSIM_ROLE_OBSERVE
    }

    public struct Answer {
        public var message: devsim_msg
        public var payload: [UInt8]
        /// A descriptor the answer carried (eventfd, DMA memfd), now ours.
        public var descriptor: Descriptor?
    }

    public let name: String
    public let path: String
    private let socket: Descriptor
    public private(set) var info = drvproxy_info()
    /// The owner's event descriptor (HELLO's answer).
    public private(set) var events: Descriptor?

    /// The directory devsim puts its sockets in (see cds_default_dir).
    public static var defaultDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard cds_default_dir(&buffer, buffer.count) == 0 else { return "/tmp" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Names of the devices a devsim serves in `directory`, sorted.
    public static func deviceNames(in directory: String = defaultDirectory) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let file = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if file.hasSuffix(".sock") { names.append(String(file.dropLast(5))) }
        }
        return names.sorted()
    }

    /// Connects and says HELLO. Errors are HostFailures with driverhost's
    /// "device unavailable" code and a message that says what to do.
    public init(name: String, directory: String = defaultDirectory, role: Role) throws(HostFailure) {
        self.name = name
        path = "\(directory)/\(name).sock"
        let fd = cds_connect(path)
        guard fd >= 0 else {
            let error = SystemCallError.last("connect \(path)")
            let known = DevSimConnection.deviceNames(in: directory)
            let hint = known.isEmpty
                ? "no devsim is serving \(directory) (start one: devsim --device \(name)=edu)"
                : "devsim in \(directory) has: \(known.map { "sim:\($0)" }.joined(separator: ", "))"
            let reason = error.code == ENOENT || error.code == ECONNREFUSED ? "no such simulated device" : "\(error.errno)"
            throw HostFailure(.deviceUnavailable, "sim:\(name): \(reason); \(hint)")
        }
        socket = Descriptor(taking: fd)
        var hello = devsim_msg()
        hello.op = UInt32(DEVSIM_HELLO.rawValue)
        hello.a.0 = UInt32(DEVSIM_WIRE_VERSION)
        hello.a.1 = role.rawValue
        let answer: Answer
        do {
            answer = try request(hello)
        } catch {
            throw HostFailure(.deviceUnavailable, "sim:\(name): \(error)")
        }
        switch answer.message.status {
        case 0: break
        case -EBUSY:
            throw HostFailure(.deviceUnavailable, "sim:\(name): busy (owned by pid \(answer.message.a.0))")
        default:
            throw HostFailure(.deviceUnavailable, "sim:\(name): devsim refused: \(SystemCallError(-answer.message.status, call: "hello").errno)")
        }
        guard answer.payload.count == MemoryLayout<drvproxy_info>.size else {
            throw HostFailure(.deviceSetupFailed, "sim:\(name): short INFO from devsim")
        }
        info = answer.payload.withUnsafeBytes { $0.loadUnaligned(as: drvproxy_info.self) }
        events = answer.descriptor
    }

    /// One request, one answer. A status < 0 in the answer is the caller's
    /// to interpret; a broken connection is an SystemCallError.
    public func request(_ message: devsim_msg, payload: UnsafeRawBufferPointer? = nil) throws(SystemCallError) -> Answer {
        var message = message
        _ = try systemCall("send to \(path)") { cds_send(socket.raw, &message, payload?.baseAddress, payload?.count ?? 0, -1) }
        var buffer = [UInt8](repeating: 0, count: Int(DEVSIM_MAX_MESSAGE))
        var passed: Int32 = -1
        let length = try systemCall("receive from \(path)") {
            buffer.withUnsafeMutableBytes { cds_recv(socket.raw, $0.baseAddress, $0.count, &passed) }
        }
        let header = MemoryLayout<devsim_msg>.size
        guard length >= header else { throw SystemCallError(ECONNRESET, call: "receive from \(path)") }
        let answer = buffer.withUnsafeBytes { $0.loadUnaligned(as: devsim_msg.self) }
        return Answer(message: answer, payload: Array(buffer[header..<length]),
                      descriptor: passed >= 0 ? Descriptor(taking: passed) : nil)
    }

    /// A request whose answer only has a status: throws its errno.
    @discardableResult
    public func call(_ op: devsim_op, _ what: String, a: (UInt32, UInt32) = (0, 0), b: (UInt64, UInt64) = (0, 0),
                     payload: UnsafeRawBufferPointer? = nil) throws(SystemCallError) -> Answer {
        var message = devsim_msg()
        message.op = UInt32(op.rawValue)
        message.a.0 = a.0
        message.a.1 = a.1
        message.b.0 = b.0
        message.b.1 = b.1
        let answer = try request(message, payload: payload)
        guard answer.message.status == 0 else { throw SystemCallError(-answer.message.status, call: what) }
        return answer
    }

    public func counters() throws(SystemCallError) -> devsim_counters {
        let answer = try call(DEVSIM_COUNTERS, "counters")
        guard answer.payload.count == MemoryLayout<devsim_counters>.size else { throw SystemCallError(EPROTO, call: "counters") }
        return answer.payload.withUnsafeBytes { $0.loadUnaligned(as: devsim_counters.self) }
    }

    public func close() {
        events?.close()
        socket.close()
    }
}

/// One device a devsim serves, as a supervisor lists it next to real PCI
/// devices (its address is "sim:NAME").
public struct SimulatedDeviceDescription: Sendable, Equatable {
    public var name: String
    public var address: String { DevSimConnection.devicePrefix + name }
    public var vendor: UInt16
    public var device: UInt16
    public var subvendor: UInt16
    public var subdevice: UInt16
    public var classCode: UInt32
    /// 0 when nobody drives it.
    public var ownerPID: UInt32
    /// Release sequences run so far: a supervisor confirms a crashed
    /// instance's release by seeing this move (drvproxy's sysfs `releases`).
    public var releases: UInt64
    /// INFO as an observer sees it: DMA confinement, reset, bus mastering.
    public var info: DeviceInfo
}

extension DevSimConnection {
    /// Every device the devsim in `directory` serves, asked as an observer
    /// (never taking a device). A socket nobody answers on is left out.
    public static func describeDevices(in directory: String = defaultDirectory) -> [SimulatedDeviceDescription] {
        deviceNames(in: directory).compactMap { name in
            guard let connection = try? DevSimConnection(name: name, directory: directory, role: .observer) else { return nil }
            defer { connection.close() }
            guard let counters = try? connection.counters() else { return nil }
            let info = connection.info
            return SimulatedDeviceDescription(name: name, vendor: info.vendor, device: info.device,
                                              subvendor: info.subvendor, subdevice: info.subdevice,
                                              classCode: info.class_code, ownerPID: counters.owner_pid,
                                              releases: counters.releases, info: DeviceInfo(info))
        }
    }
}
