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
    public enum Interrupts: UInt32 {
        case none = 0, intxShared = 1, intxDisable = 2, msi = 3
    }

    public struct Match {
        let raw: dh_pci_match
        /// vendor:device exactly, anything else.
        public static func id(vendor: UInt16, device: UInt16) -> Match {
            Match(raw: dh_pci_match(vendor: vendor, vendor_mask: 0xffff, device: device, device_mask: 0xffff,
                                    subvendor: 0, subvendor_mask: 0, subdevice: 0, subdevice_mask: 0,
                                    class_code: 0, class_mask: 0))
        }
    }

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
    public let commands: [Command<D>]

    public init(name: String, version: String, matches: [Match], interrupts: Interrupts,
                ack: [Instruction] = [], release: [Instruction] = [], resetFunctionOnRelease: Bool = true,
                commands: [Command<D>] = []) {
        self.name = name
        self.version = version
        self.matches = matches
        self.interrupts = interrupts
        self.ack = ack
        self.release = release
        self.resetFunctionOnRelease = resetFunctionOnRelease
        self.commands = commands
    }

    /// The C descriptor, built once and kept for the life of the process
    /// (driverhost never unloads a plugin). Call it from `dh_plugin_get`.
    public func export() -> UnsafeRawPointer {
        if let exported = Exported.current { return exported.descriptor }
        precondition(commands.count <= Exported.trampolines.count,
                     "the Swift SDK supports \(Exported.trampolines.count) commands per plugin")
        let descriptor = UnsafeMutablePointer<dh_plugin>.allocate(capacity: 1)
        descriptor.initialize(to: dh_plugin())
        descriptor.pointee.abi_major = UInt32(DH_ABI_MAJOR)
        descriptor.pointee.abi_minor = UInt32(DH_ABI_MINOR)
        descriptor.pointee.struct_size = UInt32(MemoryLayout<dh_plugin>.size)
        descriptor.pointee.name = permanent(name)
        descriptor.pointee.version = permanent(version)
        descriptor.pointee.matches = permanent(matches.map(\.raw))
        descriptor.pointee.match_count = UInt32(matches.count)
        descriptor.pointee.irq_mode = interrupts.rawValue
        descriptor.pointee.ack_len = UInt32(ack.count)
        descriptor.pointee.ack_program = ack.isEmpty ? nil : permanent(ack.map(\.raw))
        descriptor.pointee.release_len = UInt32(release.count)
        descriptor.pointee.release_program = release.isEmpty ? nil : permanent(release.map(\.raw))
        descriptor.pointee.release_flags = resetFunctionOnRelease ? 0 : UInt32(DH_RELEASE_NO_RESET)
        descriptor.pointee.attach = Exported.attach
        descriptor.pointee.detach = Exported.detach
        descriptor.pointee.interrupt = interrupts == .none ? nil : Exported.interrupt
        let table = commands.enumerated().map { index, command in
            dh_command(name: permanent(command.name), signature: permanent(command.signature),
                       fn: Exported.trampolines[index], help: command.help.map(permanent))
        }
        descriptor.pointee.commands = table.isEmpty ? nil : permanent(table)
        descriptor.pointee.command_count = UInt32(commands.count)

        let commands = self.commands
        Exported.current = Exported(
            descriptor: UnsafeRawPointer(descriptor),
            attach: { device throws(DriverError) in try D(device: device) },
            interrupt: { driver, event in unsafeDowncast(driver, to: D.self).interrupt(event) },
            detach: { driver in unsafeDowncast(driver, to: D.self).detach() },
            commands: commands.map { command in
                { driver, arguments in command.invoke(unsafeDowncast(driver, to: D.self), arguments) }
            })
        return UnsafeRawPointer(descriptor)
    }
}

/// Memory the descriptor points into, never freed.
private func permanent(_ text: String) -> UnsafePointer<CChar> {
    let bytes = Array(text.utf8CString)
    return permanent(bytes)
}

private func permanent<T>(_ values: [T]) -> UnsafePointer<T> {
    let memory = UnsafeMutablePointer<T>.allocate(capacity: max(values.count, 1))
    memory.initialize(from: values, count: values.count)
    return UnsafePointer(memory)
}

/// The exported plugin, type-erased so that the C entry points (which
/// cannot be generic or capture anything) can reach it.
final class Exported {
    let descriptor: UnsafeRawPointer
    let makeDriver: (Device) throws(DriverError) -> AnyObject
    let deliver: (AnyObject, Event) -> Void
    let finish: (AnyObject) -> Void
    let commands: [(AnyObject, [UInt64]) -> UInt64]

    init(descriptor: UnsafeRawPointer, attach: @escaping (Device) throws(DriverError) -> AnyObject,
         interrupt: @escaping (AnyObject, Event) -> Void, detach: @escaping (AnyObject) -> Void,
         commands: [(AnyObject, [UInt64]) -> UInt64]) {
        self.descriptor = descriptor
        makeDriver = attach
        deliver = interrupt
        finish = detach
        self.commands = commands
    }

    /// Set once, by the first export(), before driverhost calls anything:
    /// every later access is on driverhost's loop thread.
    nonisolated(unsafe) static var current: Exported?

    static func driver(_ context: UnsafeMutableRawPointer?) -> AnyObject {
        Unmanaged<AnyObject>.fromOpaque(context!).takeUnretainedValue()
    }

    static let attach: @convention(c) (UnsafePointer<dh_host>?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 = {
        host, instance, context in
        guard let host, let instance, let context, let plugin = Exported.current else { return DH_ERR_INVALID }
        do throws(DriverError) {
            let driver = try plugin.makeDriver(Device(host: host, instance: instance))
            context.pointee = Unmanaged.passRetained(driver).toOpaque()
            return DH_OK
        } catch {
            return error.code
        }
    }

    static let detach: @convention(c) (UnsafeMutableRawPointer?) -> Void = { context in
        guard let context else { return }
        Exported.current!.finish(driver(context))
        Unmanaged<AnyObject>.fromOpaque(context).release()
    }

    static let interrupt: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_event>?) -> Void = { context, event in
        guard let event else { return }
        Exported.current!.deliver(driver(context), Event(event.pointee))
    }

    /// Command entry points, one per command slot. driverhost calls a
    /// command through libffi with its declared signature, e.g.
    /// `uint64_t fn(void *ctx, uint32_t)`. For integer types that call is
    /// the same machine-level call as one with six uint64_t arguments and a
    /// uint64_t result on the x86-64 and AArch64 Linux ABIs (arguments in
    /// 64-bit registers or 8-byte stack slots, the result in one register),
    /// so one trampoline shape serves every integer signature: it truncates
    /// each argument to its declared type (upper register bits are
    /// undefined) and returns the result sign- or zero-extended.
    typealias Trampoline = @convention(c) (UnsafeMutableRawPointer?, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) -> UInt64

    static func call(_ slot: Int, _ context: UnsafeMutableRawPointer?, _ arguments: [UInt64]) -> UInt64 {
        Exported.current!.commands[slot](driver(context), arguments)
    }

    static let trampolines: [dh_command_fn] = [
        { call(0, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(1, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(2, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(3, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(4, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(5, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(6, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(7, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(8, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(9, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(10, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(11, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(12, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(13, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(14, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
        { call(15, $0, [$1, $2, $3, $4, $5, $6]) } as Trampoline,
    ].map { unsafeBitCast($0, to: dh_command_fn.self) }
}
