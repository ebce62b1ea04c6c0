import CDrvHost
import DevSimClient
import DrvHostProtocol

/// A plugin's descriptor, copied out of the plugin and checked field by field
/// before driverhost opens the device. Nothing here calls into the plugin.
public struct PluginDescriptor {
    public struct Command {
        public let name: String
        public let signature: CommandSignature
        public let function: dh_command_fn
        public let help: String?
    }

    /// The descriptor with any fields past the plugin's struct_size zeroed
    /// (an older minor has fewer fields; zero means "absent").
    public let raw: dh_plugin
    public let name: String
    public let version: String
    public let matches: [dh_pci_match]
    public let ackProgram: [dh_insn]
    public let releaseProgram: [dh_insn]
    public let commands: [Command]

    static let nameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    static let commandCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
    static let maxTableLength: UInt32 = 256

    public init(entry: UnsafeRawPointer, path: String) throws(HostFailure) {
        // ABI first: only the three leading words are common to every major.
        let major = entry.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
        let minor = entry.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let size = entry.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
        let ours = "\(DH_ABI_MAJOR).\(DH_ABI_MINOR)"
        guard major == UInt32(DH_ABI_MAJOR) else {
            throw HostFailure(.abiMismatch,
                              "plugin \(path) was built for drvhost plugin ABI \(major).\(minor); this driverhost implements ABI \(ours): rebuild the plugin against an ABI \(DH_ABI_MAJOR) SDK")
        }
        guard minor <= UInt32(DH_ABI_MINOR) else {
            throw HostFailure(.abiMismatch,
                              "plugin \(path) needs drvhost plugin ABI \(major).\(minor); this driverhost implements ABI \(ours)")
        }
        func invalid(_ why: String) -> HostFailure {
            HostFailure(.descriptorInvalid, "plugin \(path): invalid descriptor: \(why)")
        }
        // A plugin of an older minor has only the fields its minor knew:
        // read those (never past its struct_size) and leave the rest zero,
        // which means "absent".
        let known = PluginDescriptor.descriptorSize(minor: minor)
        guard size >= UInt32(known) else {
            throw invalid("struct_size \(size) is smaller than the ABI \(major).\(minor) descriptor (\(known) bytes)")
        }
        var raw = dh_plugin()
        withUnsafeMutableBytes(of: &raw) { $0.copyMemory(from: UnsafeRawBufferPointer(start: entry, count: known)) }
        self.raw = raw

        guard raw.reserved == 0, raw.reserved1 == 0, raw.reserved2 == 0 else { throw invalid("reserved fields must be 0") }
        let interruptModes = (UInt32(DH_IRQ_INTX_SHARED.rawValue)...UInt32(DH_IRQ_MSIX.rawValue)).reduce(UInt32(0)) { $0 | 1 << $1 }
        guard raw.ack_modes & ~interruptModes == 0 else {
            throw invalid("ack_modes 0x\(String(raw.ack_modes, radix: 16)) names no interrupt mode (bits \(DH_IRQ_INTX_SHARED.rawValue) to \(DH_IRQ_MSIX.rawValue))")
        }
        guard let namePtr = raw.name else { throw invalid("no name") }
        name = String(cString: namePtr)
        guard !name.isEmpty, name.count <= 64, name.allSatisfy(PluginDescriptor.nameCharacters.contains) else {
            throw invalid("name \"\(name)\" must be 1-64 of [A-Za-z0-9_.-]")
        }
        guard let versionPtr = raw.version else { throw invalid("no version") }
        version = String(cString: versionPtr)

        guard raw.match_count >= 1, raw.match_count <= PluginDescriptor.maxTableLength, let matchPtr = raw.matches else {
            throw invalid("the PCI match table must have 1 to \(PluginDescriptor.maxTableLength) entries")
        }
        matches = Array(UnsafeBufferPointer(start: matchPtr, count: Int(raw.match_count)))

        guard raw.irq_mode <= DH_IRQ_MSIX.rawValue else { throw invalid("unknown irq_mode \(raw.irq_mode)") }
        if raw.irq_mode == DH_IRQ_MSIX.rawValue {
            guard (1...2048).contains(raw.msix_vectors) else { throw invalid("DH_IRQ_MSIX needs 1 to 2048 msix_vectors") }
        } else if raw.msix_vectors != 0 {
            throw invalid("msix_vectors is set but irq_mode is not DH_IRQ_MSIX")
        }

        guard raw.attach != nil else { throw invalid("no attach callback") }
        guard raw.detach != nil else { throw invalid("no detach callback") }
        guard raw.interrupt != nil || raw.irq_mode == DH_IRQ_NONE.rawValue else {
            throw invalid("no interrupt callback, but irq_mode is not DH_IRQ_NONE")
        }

        func program(_ what: String, _ pointer: UnsafePointer<dh_insn>?, _ count: UInt32) throws(HostFailure) -> [dh_insn] {
            guard count > 0 else { return [] }
            guard count <= UInt32(DH_PROG_MAX_INSNS) else {
                throw invalid("\(what) program has \(count) instructions, at most \(DH_PROG_MAX_INSNS) allowed")
            }
            guard let pointer else { throw invalid("\(what) program length \(count) but no instructions") }
            return Array(UnsafeBufferPointer(start: pointer, count: Int(count)))
        }
        ackProgram = try program("ACK", raw.ack_program, raw.ack_len)
        releaseProgram = try program("RELEASE", raw.release_program, raw.release_len)
        if raw.irq_mode == DH_IRQ_INTX_SHARED.rawValue && ackProgram.isEmpty {
            throw invalid("DH_IRQ_INTX_SHARED needs an ACK program to tell its interrupts from others on the line")
        }
        guard raw.release_flags & ~UInt32(DH_RELEASE_FUNCTION_RESET | DH_RELEASE_NO_RESET) == 0 else {
            throw invalid("unknown release_flags 0x\(String(raw.release_flags, radix: 16))")
        }
        // Before the device is known, every BAR is taken as present and
        // huge: whatever fails then fails on any device.
        let anyBars = Array(repeating: regprog_bar(size: UInt64(1) << 62, is_io: false,
                                                   protect: (regprog_range(), regprog_range())), count: Int(DRVPROXY_NUM_BARS))
        if let why = PluginDescriptor.programError(.ack, ackProgram, bars: anyBars)
            ?? PluginDescriptor.programError(.release, releaseProgram, bars: anyBars) {
            throw invalid(why)
        }

        guard raw.command_count <= PluginDescriptor.maxTableLength else { throw invalid("too many commands") }
        var commands: [Command] = []
        if raw.command_count > 0 {
            guard let table = raw.commands else { throw invalid("command_count \(raw.command_count) but no commands") }
            for (i, entry) in UnsafeBufferPointer(start: table, count: Int(raw.command_count)).enumerated() {
                guard let namePtr = entry.name else { throw invalid("command \(i) has no name") }
                let name = String(cString: namePtr)
                guard !name.isEmpty, name.allSatisfy(PluginDescriptor.commandCharacters.contains) else {
                    throw invalid("command name \"\(name)\" must be [a-z0-9_]+")
                }
                guard !commands.contains(where: { $0.name == name }) else { throw invalid("command \"\(name)\" declared twice") }
                guard let sigPtr = entry.signature else { throw invalid("command \(name) has no signature") }
                let signature: CommandSignature
                do {
                    signature = try CommandSignature(parsing: String(cString: sigPtr))
                } catch {
                    throw invalid("command \(name): \(error.description)")
                }
                guard let function = entry.fn else { throw invalid("command \(name) has no function") }
                commands.append(Command(name: name, signature: signature, function: function,
                                        help: entry.help.map { String(cString: $0) }))
            }
        }
        self.commands = commands
    }

    /// The bytes of struct dh_plugin that ABI 1.`minor` defines.
    static func descriptorSize(minor: UInt32) -> Int {
        minor >= 2 ? MemoryLayout<dh_plugin>.size : MemoryLayout<dh_plugin>.offset(of: \dh_plugin.get_extension)!
    }

    /// Checks both programs against the device's real BARs (from INFO).
    public func validatePrograms(for info: DeviceInfo) throws(HostFailure) {
        let bars = info.regprogBars
        if let why = PluginDescriptor.programError(.ack, ackProgram, bars: bars)
            ?? PluginDescriptor.programError(.release, releaseProgram, bars: bars) {
            throw HostFailure(.descriptorInvalid, "plugin \(name): invalid for this device: \(why)")
        }
    }

    static func programError(_ kind: ProgramKind, _ program: [dh_insn], bars: [regprog_bar]) -> String? {
        guard !program.isEmpty else { return nil }
        var error: UInt32 = 0
        var index: UInt32 = 0
        let refused = program.withUnsafeBufferPointer { insns in
            bars.withUnsafeBufferPointer { bars in
                insns.withMemoryRebound(to: drvproxy_insn.self) { kernelInsns in
                    regprog_validate(drvproxy_prog_kind(kind.rawValue), kernelInsns.baseAddress,
                                     UInt32(kernelInsns.count), bars.baseAddress, &error, &index)
                }
            }
        }
        guard refused != 0 else { return nil }
        var why = "\(kind == .ack ? "ACK" : "RELEASE") program instruction \(index): \(String(cString: regprog_error_name(error)))"
        // Say which access, and what the device has there.
        if Int(index) < program.count, [DRVPROXY_EPROG_OUT_OF_RANGE, DRVPROXY_EPROG_BAD_BAR, DRVPROXY_EPROG_MISALIGNED]
            .contains(where: { UInt32($0.rawValue) == error }) {
            let insn = program[Int(index)]
            why += " (\(insn.width)-byte access at BAR\(insn.bar) offset 0x\(String(insn.offset, radix: 16))"
            if Int(insn.bar) < bars.count {
                let size = bars[Int(insn.bar)].size
                why += size == 0 ? "; this device has no BAR\(insn.bar))" : "; BAR\(insn.bar) is \(size) bytes)"
            } else {
                why += ")"
            }
        }
        return why
    }

    /// True if an entry of the match table names this device.
    public func matches(_ info: DeviceInfo) -> Bool {
        matches.contains { m in
            info.vendor & m.vendor_mask == m.vendor & m.vendor_mask
                && info.device & m.device_mask == m.device & m.device_mask
                && info.subvendor & m.subvendor_mask == m.subvendor & m.subvendor_mask
                && info.subdevice & m.subdevice_mask == m.subdevice & m.subdevice_mask
                && info.classCode & m.class_mask == m.class_code & m.class_mask
        }
    }

    public func command(named name: String) -> Command? {
        commands.first { $0.name == name }
    }
}
