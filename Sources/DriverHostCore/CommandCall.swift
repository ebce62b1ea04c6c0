import CDrvHost
import CommandValue

/// One call of a plugin command: the arguments parsed from text by the
/// declared signature into the C values the function takes (with the memory
/// str/bytes arguments and a result buffer point into), the libffi call,
/// and the result read back and checked. Nothing is called until every
/// argument parsed.
final class CommandCall {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let signature: CommandSignature
    private var types: [UInt32] = []
    private var bits: [UInt64] = []
    /// Memory owned by this call, freed with it.
    private var allocations: [UnsafeMutableRawPointer] = []
    /// The result buffer (str/bytes data, or the record).
    private var output: UnsafeMutableRawPointer?
    private var outputBytes: UnsafeMutablePointer<dh_bytes>?
    private var returned: UInt64 = 0

    init(_ signature: CommandSignature, arguments: [String]) throws(Failure) {
        self.signature = signature
        for (index, (text, type)) in zip(arguments, signature.arguments).enumerated() {
            func fail(_ why: String) -> Failure { Failure(description: "argument \(index + 1) (\(type)): \(why)") }
            switch type {
            case .scalar(let scalar):
                types.append(scalar.ffi)
                do {
                    bits.append(try CommandCall.encode(text, as: scalar))
                } catch {
                    throw fail(error.description)
                }
            case .text(let capacity):
                let utf8 = Array(text.utf8)
                guard utf8.count <= capacity else { throw fail("\(utf8.count) bytes of text, more than \(capacity)") }
                guard !utf8.contains(0) else { throw fail("text cannot hold a NUL character") }
                let memory = allocate(utf8.count + 1)
                memory.copyMemory(from: utf8 + [0], byteCount: utf8.count + 1)
                types.append(CDH_FFI_POINTER.rawValue)
                bits.append(UInt64(UInt(bitPattern: memory)))
            case .bytes(let capacity):
                guard let data = CommandCall.bytes(fromHex: text) else {
                    throw fail("\"\(text)\" is not hex bytes (pairs of hex digits, optionally separated by \":\")")
                }
                guard data.count <= capacity else { throw fail("\(data.count) bytes, more than \(capacity)") }
                let memory = allocate(capacity)
                memory.copyMemory(from: data, byteCount: data.count)
                let buffer = allocate(MemoryLayout<dh_bytes>.size).bindMemory(to: dh_bytes.self, capacity: 1)
                buffer.initialize(to: dh_bytes(data: memory, size: UInt32(data.count), capacity: UInt32(capacity)))
                types.append(CDH_FFI_POINTER.rawValue)
                bits.append(UInt64(UInt(bitPattern: buffer)))
            }
        }
        switch signature.result {
        case .void, .scalar: break
        case .text(let capacity), .bytes(let capacity):
            let data = allocate(capacity)
            let buffer = allocate(MemoryLayout<dh_bytes>.size).bindMemory(to: dh_bytes.self, capacity: 1)
            buffer.initialize(to: dh_bytes(data: data, size: 0, capacity: UInt32(capacity)))
            output = data
            outputBytes = buffer
            types.append(CDH_FFI_POINTER.rawValue)
            bits.append(UInt64(UInt(bitPattern: buffer)))
        case .record(_, let size):
            let record = allocate(size)
            output = record
            types.append(CDH_FFI_POINTER.rawValue)
            bits.append(UInt64(UInt(bitPattern: record)))
        }
    }

    deinit {
        for memory in allocations { memory.deallocate() }
    }

    /// Zeroed memory that lives as long as the call.
    private func allocate(_ count: Int) -> UnsafeMutableRawPointer {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        allocations.append(memory)
        return memory
    }

    private var returnType: UInt32 {
        switch signature.result {
        case .void: CDH_FFI_VOID.rawValue
        case .scalar(let scalar): scalar.ffi
        case .text, .bytes, .record: CDH_FFI_I32.rawValue
        }
    }

    /// Calls the plugin. False if libffi refused the signature.
    func invoke(_ function: dh_command_fn, context: UnsafeMutableRawPointer?) -> Bool {
        cdh_call_command(function, context, returnType, types, bits, UInt32(bits.count), &returned) == 0
    }

    /// The result, checked: a buffer or record command's status must be
    /// DH_OK (else its DH_ERR_* is the failure), sizes within bounds, text UTF-8.
    func result() throws(Failure) -> CommandValue {
        switch signature.result {
        case .void: return .void
        case .scalar(let scalar): return CommandCall.value(bits: returned, as: scalar)
        case .text, .bytes, .record: break
        }
        let status = Int32(truncatingIfNeeded: returned)
        guard status == DH_OK else {
            guard (DH_ERR_DEVICE...DH_ERR_INVALID).contains(status) else {
                throw Failure(description: "the plugin returned \(status), which is neither DH_OK nor a DH_ERR_* code")
            }
            throw Failure(description: "the plugin answered \(HostTable.errorName(status))")
        }
        switch signature.result {
        case .text(let capacity), .bytes(let capacity):
            let buffer = outputBytes!.pointee
            guard buffer.data == output, buffer.capacity == UInt32(capacity) else {
                throw Failure(description: "the plugin changed the result buffer's data pointer or capacity")
            }
            guard buffer.size <= UInt32(capacity) else {
                throw Failure(description: "the plugin reported \(buffer.size) result bytes, more than its signature's \(capacity)")
            }
            let data = Array(UnsafeRawBufferPointer(start: output, count: Int(buffer.size)))
            if case .bytes = signature.result { return .bytes(data) }
            return .text(try CommandCall.text(data, "the result"))
        case .record(let fields, _):
            var values: [CommandValue.Field] = []
            for field in fields {
                let at = output! + field.offset
                let value: CommandValue
                switch field.type {
                case .scalar(let scalar):
                    var raw: UInt64 = 0
                    withUnsafeMutableBytes(of: &raw) { $0.copyMemory(from: UnsafeRawBufferPointer(start: at, count: scalar.bitWidth / 8)) }
                    value = CommandCall.value(bits: CommandCall.extend(raw, scalar), as: scalar)
                case .bytes(let n):
                    value = .bytes(Array(UnsafeRawBufferPointer(start: at, count: n)))
                case .text(let n):
                    let raw = UnsafeRawBufferPointer(start: at, count: n)
                    value = .text(try CommandCall.text(Array(raw.prefix { $0 != 0 }), "field \(field.name)"))
                }
                values.append(CommandValue.Field(name: field.name, value: value))
            }
            return .record(values)
        case .void, .scalar:
            return .void
        }
    }

    private static func text(_ bytes: [UInt8], _ what: String) throws(Failure) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(description: "\(what) is not UTF-8 text")
        }
        return text
    }

    /// A little-endian field of `scalar`'s width, extended as libffi extends a return value.
    private static func extend(_ raw: UInt64, _ scalar: CommandSignature.Scalar) -> UInt64 {
        guard scalar.isSigned, scalar.bitWidth < 64 else { return raw }
        let shift = UInt64(64 - scalar.bitWidth)
        return UInt64(bitPattern: Int64(bitPattern: raw << shift) >> Int64(shift))
    }

    /// Parses a command-line argument for `scalar` into the bit pattern the
    /// libffi shim expects.
    static func encode(_ text: String, as scalar: CommandSignature.Scalar) throws(CommandSignature.ParseError) -> UInt64 {
        typealias ParseError = CommandSignature.ParseError
        switch scalar {
        case .f64:
            guard let value = Double(text) else { throw ParseError(description: "\"\(text)\" is not a number") }
            return value.bitPattern
        case .u8, .u16, .u32, .u64, .x8, .x16, .x32, .x64:
            guard let value = UInt64(integerText: text), scalar.bitWidth == 64 || value >> UInt64(scalar.bitWidth) == 0 else {
                throw ParseError(description: "\"\(text)\" is not a \(scalar.rawValue)")
            }
            return value
        case .i8, .i16, .i32, .i64:
            let limit = Int64(1) << Int64(scalar.bitWidth - 1)
            guard let value = Int64(text),
                  scalar.bitWidth == 64 || (value >= -limit && value < limit) else {
                throw ParseError(description: "\"\(text)\" is not an \(scalar.rawValue)")
            }
            return UInt64(bitPattern: value)
        }
    }

    /// A result bit pattern from the libffi shim, typed.
    static func value(bits: UInt64, as scalar: CommandSignature.Scalar) -> CommandValue {
        switch scalar {
        case .f64: .real(Double(bitPattern: bits))
        case .i8, .i16, .i32, .i64: .signed(Int64(bitPattern: bits))
        case .x8, .x16, .x32, .x64: .hex(bits & (scalar.bitWidth == 64 ? .max : (1 << UInt64(scalar.bitWidth)) - 1),
                                         digits: scalar.bitWidth / 4)
        default: .unsigned(bits)
        }
    }

    /// "525400123456", "52:54:00:12:34:56" or "0x5254..."; "" is no bytes.
    static func bytes(fromHex text: String) -> [UInt8]? {
        var digits = Substring(text)
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") { digits = digits.dropFirst(2) }
        let groups = digits.contains(":") ? digits.split(separator: ":", omittingEmptySubsequences: false) : [digits]
        var out: [UInt8] = []
        for group in groups {
            guard group.count % 2 == 0, !(digits.contains(":") && group.count != 2) else { return nil }
            var i = group.startIndex
            while i < group.endIndex {
                let next = group.index(i, offsetBy: 2)
                guard let byte = UInt8(group[i..<next], radix: 16) else { return nil }
                out.append(byte)
                i = next
            }
        }
        return out
    }
}
