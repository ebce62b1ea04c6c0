import CDrvHost

/// A command's declared type signature, "RET(ARG,ARG,...)", e.g. "u64(u32)",
/// with ABI 1.2's hex integers, bounded str[N]/bytes[N] buffers and record
/// results ("{mac:bytes[6],mtu:u32}()"); plugin.h states the grammar.
public struct CommandSignature: Equatable, Sendable, CustomStringConvertible {
    /// A fixed-width number; xN is uN shown in hexadecimal.
    public enum Scalar: String, CaseIterable, Sendable {
        case u8, u16, u32, u64, i8, i16, i32, i64, f64, x8, x16, x32, x64

        var ffi: UInt32 {
            switch self {
            case .u8, .x8: CDH_FFI_U8.rawValue
            case .u16, .x16: CDH_FFI_U16.rawValue
            case .u32, .x32: CDH_FFI_U32.rawValue
            case .u64, .x64: CDH_FFI_U64.rawValue
            case .i8: CDH_FFI_I8.rawValue
            case .i16: CDH_FFI_I16.rawValue
            case .i32: CDH_FFI_I32.rawValue
            case .i64: CDH_FFI_I64.rawValue
            case .f64: CDH_FFI_F64.rawValue
            }
        }

        var isSigned: Bool { [.i8, .i16, .i32, .i64].contains(self) }
        var isHex: Bool { [.x8, .x16, .x32, .x64].contains(self) }

        var bitWidth: Int {
            switch self {
            case .u8, .i8, .x8: 8
            case .u16, .i16, .x16: 16
            case .u32, .i32, .x32: 32
            case .u64, .i64, .x64, .f64: 64
            }
        }
    }

    /// An argument's type (and a record field's).
    public enum ValueType: Equatable, Sendable, CustomStringConvertible {
        case scalar(Scalar)
        /// str[N]: UTF-8 text of at most N bytes.
        case text(Int)
        /// bytes[N]: at most N bytes.
        case bytes(Int)

        public var description: String {
            switch self {
            case .scalar(let s): s.rawValue
            case .text(let n): "str[\(n)]"
            case .bytes(let n): "bytes[\(n)]"
            }
        }

        /// Size and alignment as a member of a C struct.
        var layout: (size: Int, alignment: Int) {
            switch self {
            case .scalar(let s): (s.bitWidth / 8, s.bitWidth / 8)
            case .text(let n), .bytes(let n): (n, 1)
            }
        }
    }

    public struct Field: Equatable, Sendable {
        public let name: String
        public let type: ValueType
        /// Byte offset in the C struct.
        public let offset: Int
    }

    public enum Result: Equatable, Sendable, CustomStringConvertible {
        case void
        case scalar(Scalar)
        case text(Int)
        case bytes(Int)
        /// Fields in declaration order and the struct's C size.
        case record([Field], size: Int)

        /// A buffer or record result is written through a last pointer
        /// argument; the function then returns an int32_t status.
        var isWrittenThroughPointer: Bool {
            switch self {
            case .void, .scalar: false
            case .text, .bytes, .record: true
            }
        }

        public var description: String {
            switch self {
            case .void: "void"
            case .scalar(let s): s.rawValue
            case .text(let n): "str[\(n)]"
            case .bytes(let n): "bytes[\(n)]"
            case .record(let fields, _): "{" + fields.map { "\($0.name):\($0.type)" }.joined(separator: ",") + "}"
            }
        }
    }

    public var result: Result
    public var arguments: [ValueType]

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    static let maxBytes = Int(DH_COMMAND_MAX_BYTES)
    static let maxFields = Int(DH_COMMAND_MAX_FIELDS)
    static let fieldNameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789_")

    public init(parsing text: String) throws(ParseError) {
        func fail(_ why: String) -> ParseError { ParseError(description: "\(why) in \"\(text)\"") }
        // Arguments never contain parentheses; a record result may hold
        // commas and brackets, so the argument list starts at the last "(".
        guard let open = text.lastIndex(of: "("), text.hasSuffix(")") else {
            throw ParseError(description: "\"\(text)\" is not of the form RET(ARG,...)")
        }
        let head = text[..<open].trimmingSpaces()
        if head.hasPrefix("{") {
            result = try CommandSignature.record(head, fail)
        } else if head == "void" {
            result = .void
        } else {
            switch try CommandSignature.valueType(head, fail) {
            case .scalar(let s): result = .scalar(s)
            case .text(let n): result = .text(n)
            case .bytes(let n): result = .bytes(n)
            }
        }
        let inner = text[text.index(after: open)..<text.index(before: text.endIndex)].trimmingSpaces()
        var arguments: [ValueType] = []
        if !inner.isEmpty && inner != "void" {
            for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
                let name = part.trimmingSpaces()
                if name == "void" { throw fail("void argument") }
                if name.hasPrefix("{") { throw fail("a record is a result only") }
                arguments.append(try CommandSignature.valueType(name, fail))
            }
        }
        guard arguments.count <= Int(DH_COMMAND_MAX_ARGS) else {
            throw ParseError(description: "\"\(text)\" has more than \(DH_COMMAND_MAX_ARGS) arguments")
        }
        self.arguments = arguments
    }

    /// One type name: a scalar, str[N] or bytes[N].
    static func valueType(_ name: Substring, _ fail: (String) -> ParseError) throws(ParseError) -> ValueType {
        if let scalar = Scalar(rawValue: String(name)) { return .scalar(scalar) }
        for (prefix, make) in [("str[", ValueType.text), ("bytes[", ValueType.bytes)] where name.hasPrefix(prefix) {
            guard name.hasSuffix("]"), let n = Int(name.dropFirst(prefix.count).dropLast()),
                  name.dropFirst(prefix.count).dropLast().allSatisfy(\.isASCIIDigit) else {
                throw fail("\"\(name)\" is not \(prefix)N]")
            }
            guard (1...maxBytes).contains(n) else { throw fail("\(name): N must be 1 to \(maxBytes)") }
            return make(n)
        }
        throw fail("unknown type \"\(name)\"")
    }

    /// "{name:type,...}" with C struct layout.
    static func record(_ text: Substring, _ fail: (String) -> ParseError) throws(ParseError) -> Result {
        guard text.hasSuffix("}") else { throw fail("a record must end with \"}\"") }
        let body = text.dropFirst().dropLast()
        var fields: [Field] = []
        var offset = 0, alignment = 1
        for part in body.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard pair.count == 2 else { throw fail("record field \"\(part.trimmingSpaces())\" is not name:type") }
            let name = String(pair[0].trimmingSpaces())
            guard !name.isEmpty, name.allSatisfy(fieldNameCharacters.contains) else {
                throw fail("record field name \"\(name)\" must be [a-z0-9_]+")
            }
            guard !fields.contains(where: { $0.name == name }) else { throw fail("record field \"\(name)\" declared twice") }
            let type = try valueType(pair[1].trimmingSpaces(), fail)
            let (size, align) = type.layout
            offset = (offset + align - 1) / align * align
            fields.append(Field(name: name, type: type, offset: offset))
            offset += size
            alignment = max(alignment, align)
        }
        guard fields.count <= maxFields else { throw fail("a record has at most \(maxFields) fields") }
        let size = (offset + alignment - 1) / alignment * alignment
        guard size <= maxBytes else { throw fail("the record takes \(size) bytes, more than \(maxBytes)") }
        return .record(fields, size: size)
    }

    public var description: String {
        "\(result)(\(arguments.map(\.description).joined(separator: ",")))"
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

extension UInt64 {
    /// Decimal or 0x-prefixed hexadecimal.
    init?(integerText text: String) {
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            self.init(text.dropFirst(2), radix: 16)
        } else {
            self.init(text)
        }
    }
}
