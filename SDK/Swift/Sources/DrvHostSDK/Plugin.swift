import CDrvHostSDK

/// A plugin's descriptor, in Swift: what struct dh_plugin says in C.
///
///     let plugin = Plugin<Edu>(name: "edu-swift", version: "1.0.0",
///                              matches: [.id(vendor: 0x1234, device: 0x11e8)],
///                              interrupts: .intxShared, ack: [...], release: [...],
///                              commands: [...])
///
/// and export it with the one function driverhost looks for:
///
///     @_cdecl("dh_plugin_get")
///     public func pluginDescriptor() -> UnsafeRawPointer { plugin.export() }
public struct Plugin<D: Driver> {
    public let name: String
    public let version: String
    public let matches: [Match]
    public let interrupts: Interrupts
    public let ack: [Instruction]
    public let release: [Instruction]
    /// Whether the kernel resets the function (if it has a reset method) at
    /// the end of each release; false asks for DH_RELEASE_NO_RESET, and the
    /// reset then happens at the next open.
    public let resetFunctionOnRelease: Bool
    /// Watchdog bounds; nil is the host's default (10 s for attach, 2 s for
    /// the rest), and the host caps them (60 s and 10 s unless configured).
    public let attachTimeout: Duration?
    public let callbackTimeout: Duration?
    public let commands: [Command<D>]

    public init(name: String, version: String, matches: [Match], interrupts: Interrupts,
                ack: [Instruction] = [], release: [Instruction] = [], resetFunctionOnRelease: Bool = true,
                attachTimeout: Duration? = nil, callbackTimeout: Duration? = nil,
                commands: [Command<D>] = []) {
        self.name = name
        self.version = version
        self.matches = matches
        self.interrupts = interrupts
        self.ack = ack
        self.release = release
        self.resetFunctionOnRelease = resetFunctionOnRelease
        self.attachTimeout = attachTimeout
        self.callbackTimeout = callbackTimeout
        self.commands = commands
    }

    /// The same, with commands one per line (see `CommandList`).
    public init(name: String, version: String, matches: [Match], interrupts: Interrupts,
                ack: [Instruction] = [], release: [Instruction] = [], resetFunctionOnRelease: Bool = true,
                attachTimeout: Duration? = nil, callbackTimeout: Duration? = nil,
                @CommandList<D> commands: () -> [Command<D>]) {
        self.init(name: name, version: version, matches: matches, interrupts: interrupts, ack: ack, release: release,
                  resetFunctionOnRelease: resetFunctionOnRelease, attachTimeout: attachTimeout,
                  callbackTimeout: callbackTimeout, commands: commands())
    }

    /// The C descriptor, built once and kept for the life of the process
    /// (driverhost never unloads a plugin). Call it from `dh_plugin_get`.
    /// What driverhost checks (names, signatures, programs, bounds) it
    /// refuses with a message; nothing here stops the process.
    public func export() -> UnsafeRawPointer {
        if let exported = Exported.current { return exported.descriptor }
        let descriptor = UnsafeMutablePointer<dh_plugin>.allocate(capacity: 1)
        descriptor.initialize(to: dh_plugin())
        descriptor.pointee.abi_major = UInt32(DH_ABI_MAJOR)
        descriptor.pointee.abi_minor = UInt32(DH_ABI_MINOR)
        descriptor.pointee.struct_size = UInt32(MemoryLayout<dh_plugin>.size)
        descriptor.pointee.name = permanent(name)
        descriptor.pointee.version = permanent(version)
        descriptor.pointee.matches = permanent(matches.map(\.raw))
        descriptor.pointee.match_count = UInt32(matches.count)
        descriptor.pointee.irq_mode = interrupts.mode.rawValue
        descriptor.pointee.msix_vectors = interrupts.vectors
        descriptor.pointee.ack_len = UInt32(ack.count)
        descriptor.pointee.ack_program = ack.isEmpty ? nil : permanent(ack.map(\.raw))
        descriptor.pointee.release_len = UInt32(release.count)
        descriptor.pointee.release_program = release.isEmpty ? nil : permanent(release.map(\.raw))
        descriptor.pointee.release_flags = resetFunctionOnRelease ? 0 : UInt32(DH_RELEASE_NO_RESET)
        descriptor.pointee.attach_timeout_ms = milliseconds(attachTimeout)
        descriptor.pointee.callback_timeout_ms = milliseconds(callbackTimeout)
        descriptor.pointee.attach = Exported.attach
        descriptor.pointee.detach = Exported.detach
        descriptor.pointee.interrupt = interrupts == .none ? nil : Exported.interrupt
        descriptor.pointee.timer = Exported.timer
        descriptor.pointee.get_extension = Exported.pluginExtension
        let table = commands.enumerated().map { index, command in
            // user = slot + 1: which command's body the shared entry runs.
            let function = command.argumentTypes.withUnsafeBufferPointer { types in
                types.withMemoryRebound(to: UInt32.self) {
                    cdhs_command_function(command.resultType.rawValue, $0.baseAddress, UInt32($0.count),
                                          Exported.command, UnsafeMutableRawPointer(bitPattern: index + 1))
                }
            }
            return dh_command(name: permanent(command.name), signature: permanent(command.signature),
                              fn: function, help: command.help.map(permanent))
        }
        descriptor.pointee.commands = table.isEmpty ? nil : permanent(table)
        descriptor.pointee.command_count = UInt32(commands.count)

        let commands = self.commands
        Exported.current = Exported(descriptor: UnsafeRawPointer(descriptor)) { device throws(DriverError) in
            TypedDriverBox(driver: try D(device: device), commands: commands)
        }
        return UnsafeRawPointer(descriptor)
    }
}

/// Whole milliseconds, rounded up (0: the host's default).
private func milliseconds(_ duration: Duration?) -> UInt32 {
    guard let duration, duration > .zero else { return 0 }
    let (seconds, attoseconds) = duration.components
    let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return UInt32(clamping: ms)
}

/// Memory the descriptor points into, never freed.
private func permanent(_ text: String) -> UnsafePointer<CChar> {
    permanent(Array(text.utf8CString))
}

private func permanent<T>(_ values: [T]) -> UnsafePointer<T> {
    let memory = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
    memory.initialize(from: values, count: values.count)
    return UnsafePointer(memory)
}

/// The plugin's context as driverhost holds it: one object per attached
/// device, reached from C without knowing the driver's type (a class's
/// vtable does the dispatch, so no existential and no closure per event).
class DriverBox {
    func interrupt(_ event: UnsafePointer<dh_event>) {}
    func timer(_ id: UInt32) {}
    func detach() {}
    func command(_ slot: Int, _ arguments: UnsafePointer<UInt64>) -> UInt64 { 0 }
    func pluginExtension(_ id: String) -> UnsafeRawPointer? { nil }
    func blockSubmit(_ request: UnsafePointer<dh_block_request>) -> Int32 { DH_ERR_NOT_SUPPORTED }
    func netTransmit(_ queue: UInt32, _ frames: UnsafeBufferPointer<dh_net_frame>) -> UInt32 { 0 }
}

final class TypedDriverBox<D: Driver>: DriverBox {
    let driver: D
    let commands: [Command<D>]

    init(driver: D, commands: [Command<D>]) {
        self.driver = driver
        self.commands = commands
    }

    override func interrupt(_ event: UnsafePointer<dh_event>) { driver.interrupt(Event(event.pointee)) }
    override func timer(_ id: UInt32) { driver.timer(Int(id)) }
    override func detach() { driver.detach() }
    override func command(_ slot: Int, _ arguments: UnsafePointer<UInt64>) -> UInt64 {
        commands[slot].invoke(driver, arguments)
    }
    /// A device class's half, made once per attach from the driver's
    /// description and kept until detach (the host holds it that long).
    private var classHalf: UnsafeMutableRawPointer?
    private var blockSize: UInt32 = 512

    deinit { classHalf?.deallocate() }

    override func pluginExtension(_ id: String) -> UnsafeRawPointer? {
        if let half = classHalf { return UnsafeRawPointer(half) }
        if id == DH_BLOCK_EXTENSION, let block = driver as? any BlockDriver {
            var raw = block.blockGeometry.raw
            raw.submit = Exported.blockSubmit
            blockSize = raw.logical_block_size
            return keep(raw)
        }
        if id == DH_NET_EXTENSION, let net = driver as? any NetDriver {
            var raw = net.netInterface.raw
            raw.transmit = Exported.netTransmit
            return keep(raw)
        }
        return driver.pluginExtension(id)
    }

    private func keep<T>(_ value: T) -> UnsafeRawPointer {
        let memory = UnsafeMutablePointer<T>.allocate(capacity: 1)
        memory.initialize(to: value)
        classHalf = UnsafeMutableRawPointer(memory)
        return UnsafeRawPointer(memory)
    }

    override func blockSubmit(_ request: UnsafePointer<dh_block_request>) -> Int32 {
        guard let block = driver as? any BlockDriver,
              let typed = BlockRequest(request.pointee, blockSize: blockSize) else { return DH_ERR_INVALID }
        do throws(DriverError) {
            try block.submit(typed)
            return DH_OK
        } catch {
            return error.code
        }
    }

    override func netTransmit(_ queue: UInt32, _ frames: UnsafeBufferPointer<dh_net_frame>) -> UInt32 {
        guard let net = driver as? any NetDriver else { return 0 }
        return UInt32(clamping: net.transmit(queue: queue, frames: NetFrames(frames: frames)))
    }
}

/// The exported plugin, reachable from the C entry points (which cannot be
/// generic or capture anything).
final class Exported {
    let descriptor: UnsafeRawPointer
    let makeDriver: (Device) throws(DriverError) -> DriverBox

    init(descriptor: UnsafeRawPointer, makeDriver: @escaping (Device) throws(DriverError) -> DriverBox) {
        self.descriptor = descriptor
        self.makeDriver = makeDriver
    }

    /// Set once, by the first export(), before driverhost calls anything:
    /// every later access is on driverhost's loop thread.
    nonisolated(unsafe) static var current: Exported?

    /// The context without a retain: driverhost holds it from attach to
    /// detach, and calls one callback at a time.
    @inline(__always)
    static func with<T>(_ context: UnsafeMutableRawPointer?, _ body: (DriverBox) -> T) -> T {
        Unmanaged<DriverBox>.fromOpaque(context!)._withUnsafeGuaranteedRef(body)
    }

    static let attach: @convention(c) (UnsafePointer<dh_host>?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = {
        host, instance, context in
        guard let host, let instance, let context, let plugin = Exported.current else { return DH_ERR_INVALID }
        do throws(DriverError) {
            let box = try plugin.makeDriver(Device(host: host, instance: instance))
            context.pointee = Unmanaged.passRetained(box).toOpaque()
            return DH_OK
        } catch {
            return error.code
        }
    }

    static let detach: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
        guard let context else { return }
        with(context) { $0.detach() }
        Unmanaged<DriverBox>.fromOpaque(context).release()
    }

    static let interrupt: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_event>?) -> Void = { context, event in
        guard let event else { return }
        with(context) { $0.interrupt(event) }
    }

    static let timer: @convention(c) (UnsafeMutableRawPointer?, UInt32) -> Void = { context, id in
        with(context) { $0.timer(id) }
    }

    static let pluginExtension: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> UnsafeRawPointer? = {
        context, id in
        guard let context, let id else { return nil }
        return with(context) { $0.pluginExtension(String(cString: id)) }
    }

    static let blockSubmit: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_block_request>?) -> Int32 = {
        context, request in
        guard let context, let request else { return DH_ERR_INVALID }
        return with(context) { $0.blockSubmit(request) }
    }

    static let netTransmit: @convention(c) (UnsafeMutableRawPointer?, UInt32, UnsafePointer<dh_net_frame>?, UInt32) -> UInt32 = {
        context, queue, frames, count in
        guard let context, let frames else { return 0 }
        return with(context) { $0.netTransmit(queue, UnsafeBufferPointer(start: frames, count: Int(count))) }
    }

    /// Every command's C function (made by cdhs_command_function with the
    /// command's real signature) ends here with its slot + 1 as `user`.
    static let command: cdhs_command_body = { user, context, arguments in
        with(context) { $0.command(Int(bitPattern: user) - 1, arguments!) }
    }
}
