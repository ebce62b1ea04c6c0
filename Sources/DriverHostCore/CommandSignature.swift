import CDrvHost

/// A command's declared type signature, "RET(ARG,ARG,...)", e.g. "u64(u32)".
public struct CommandSignature: Equatable, Sendable, CustomStringConvertible {
    public enum ValueType: String, CaseIterable, Sendable {
        case void, u8, u16, u32, u64, i8, i16, i32, i64, f64

        var ffi: UInt32 {
            switch self {
            case .void: CDH_FFI_VOID.rawValue
            case .u8: CDH_FFI_U8.rawValue
            case .u16: CDH_FFI_U16.rawValue
            case .u32: CDH_FFI_U32.rawValue
            case .u64: CDH_FFI_U64.rawValue
            case .i8: CDH_FFI_I8.rawValue
            case .i16: CDH_FFI_I16.rawValue
            case .i32: CDH_FFI_I32.rawValue
            case .i64: CDH_FFI_I64.rawValue
            case .f64: CDH_FFI_F64.rawValue
            }
        }

        var isSigned: Bool { [.i8, .i16, .i32, .i64].contains(self) }

        var bitWidth: Int {
            switch self {
            case .void: 0
            case .u8, .i8: 8
            case .u16, .i16: 16
            case .u32, .i32: 32
            case .u64, .i64, .f64: 64
            }
        }
    }

    public var result: ValueType
    public var arguments: [ValueType]

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(ParseError) {
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            throw ParseError(description: "\"\(text)\" is not of the form RET(ARG,...)")
        }
        func type(_ name: Substring) throws(ParseError) -> ValueType {
            let trimmed = name.trimmingSpaces()
            guard let t = ValueType(rawValue: String(trimmed)) else {
                throw ParseError(description: "unknown type \"\(trimmed)\" in \"\(text)\"")
            }
            return t
        }
        result = try type(text[..<open])
        let inner = text[text.index(after: open)..<text.index(before: text.endIndex)]
        var arguments: [ValueType] = []
        if !inner.trimmingSpaces().isEmpty && inner.trimmingSpaces() != "void" {
            for part in inner.split(separator: ",", omittingEmptySubsequences: false) {
                let t = try type(part)
                guard t != .void else { throw ParseError(description: "void argument in \"\(text)\"") }
                arguments.append(t)
            }
        }
        guard arguments.count <= Int(DH_COMMAND_MAX_ARGS) else {
            throw ParseError(description: "\"\(text)\" has more than \(DH_COMMAND_MAX_ARGS) arguments")
        }
        self.arguments = arguments
    }

    public var description: String {
        "\(result.rawValue)(\(arguments.map(\.rawValue).joined(separator: ",")))"
    }

    /// Parses a command-line argument for `type` into the bit pattern the
    /// libffi shim expects.
    public static func encode(_ text: String, as type: ValueType) throws(ParseError) -> UInt64 {
        switch type {
        case .void:
            throw ParseError(description: "no value can be void")
        case .f64:
            guard let value = Double(text) else { throw ParseError(description: "\"\(text)\" is not a number") }
            return value.bitPattern
        case .u8, .u16, .u32, .u64:
            guard let value = UInt64(integerText: text), type.bitWidth == 64 || value >> UInt64(type.bitWidth) == 0 else {
                throw ParseError(description: "\"\(text)\" is not a \(type.rawValue)")
            }
            return value
        case .i8, .i16, .i32, .i64:
            let limit = Int64(1) << Int64(type.bitWidth - 1)
            guard let value = Int64(text),
                  type.bitWidth == 64 || (value >= -limit && value < limit) else {
                throw ParseError(description: "\"\(text)\" is not an \(type.rawValue)")
            }
            return UInt64(bitPattern: value)
        }
    }

    /// Formats a result bit pattern from the libffi shim.
    public static func format(_ bits: UInt64, as type: ValueType) -> String {
        switch type {
        case .void: "void"
        case .f64: "\(Double(bitPattern: bits))"
        case .i8, .i16, .i32, .i64: "\(Int64(bitPattern: bits))"
        default: "\(bits)"
        }
    }
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
