import CDrvHostSDK

/// A type a command may take: its name in a dh_command signature and how it
/// arrives in C (plugin.h, "Commands").
public protocol CommandArgument {
    static var signatureName: String { get }
    static var cType: cdhs_type { get }
    /// From the C argument (an integer zero- or sign-extended to 64 bits,
    /// an f64's bits, or a pointer's address).
    init(commandArgument bits: UInt64)
}

/// A type a command may return. Numbers are returned in a register; str[N]
/// and bytes[N] are written through the command's last argument and the
/// function returns a status (plugin.h).
public protocol CommandResult {
    static var signatureName: String { get }
    /// The C return type (int32_t, a status, for results written through
    /// the last argument).
    static var resultCType: cdhs_type { get }
    /// True for results written through the last argument.
    static var isWrittenThroughPointer: Bool { get }
    /// The C return value; `output` is the last argument for results
    /// written through it (a struct dh_bytes).
    func commandResult(output: UnsafeMutableRawPointer?) -> UInt64
}

extension CommandResult {
    public static var isWrittenThroughPointer: Bool { false }
}

/// Numbers: the fixed-width integers and Double (f64).
public protocol CommandNumber: CommandArgument, CommandResult {}

extension CommandNumber {
    public static var resultCType: cdhs_type { cType }
}

/// A result written through the command's last argument (str[N],
/// bytes[N]); such a command can also fail: return a
/// `Result<Text<N>, DriverError>` and the caller sees the error's name.
public protocol WrittenCommandResult: CommandResult {}

extension WrittenCommandResult {
    public static var resultCType: cdhs_type { CDHS_I32 }
    public static var isWrittenThroughPointer: Bool { true }
}

extension Result: CommandResult where Success: WrittenCommandResult, Failure == DriverError {
    public static var signatureName: String { Success.signatureName }
    public static var resultCType: cdhs_type { CDHS_I32 }
    public static var isWrittenThroughPointer: Bool { true }
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 {
        switch self {
        case .success(let value): value.commandResult(output: output)
        case .failure(let error): UInt64(bitPattern: Int64(error.code))
        }
    }
}

extension CommandNumber where Self: FixedWidthInteger {
    public init(commandArgument bits: UInt64) { self.init(truncatingIfNeeded: bits) }
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 {
        UInt64(truncatingIfNeeded: Int64(truncatingIfNeeded: self))
    }
}

extension UInt8: CommandNumber { public static let signatureName = "u8"; public static let cType = CDHS_U8 }
extension UInt16: CommandNumber { public static let signatureName = "u16"; public static let cType = CDHS_U16 }
extension UInt32: CommandNumber { public static let signatureName = "u32"; public static let cType = CDHS_U32 }
extension UInt64: CommandNumber { public static let signatureName = "u64"; public static let cType = CDHS_U64 }
extension Int8: CommandNumber { public static let signatureName = "i8"; public static let cType = CDHS_I8 }
extension Int16: CommandNumber { public static let signatureName = "i16"; public static let cType = CDHS_I16 }
extension Int32: CommandNumber { public static let signatureName = "i32"; public static let cType = CDHS_I32 }
extension Int64: CommandNumber { public static let signatureName = "i64"; public static let cType = CDHS_I64 }

extension Double: CommandNumber {
    public static let signatureName = "f64"
    public static let cType = CDHS_F64
    public init(commandArgument bits: UInt64) { self.init(bitPattern: bits) }
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 { bitPattern }
}

/// An unsigned number that tools show in hexadecimal (xN):
/// `(nic: NIC) -> Hex<UInt32> in Hex(nic.status)` prints "0x00000080".
public struct Hex<Value: FixedWidthInteger & UnsignedInteger & CommandNumber>: CommandArgument, CommandResult {
    public static var resultCType: cdhs_type { Value.cType }
    public var value: Value
    public init(_ value: Value) { self.value = value }
    public static var signatureName: String { "x\(Value.bitWidth)" }
    public static var cType: cdhs_type { Value.cType }
    public init(commandArgument bits: UInt64) { value = Value(truncatingIfNeeded: bits) }
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 { UInt64(value) }
}

/// Text of at most `capacity` UTF-8 bytes (str[N]). A result longer than
/// its capacity fails the call with DH_ERR_INVALID, it is never cut.
public struct Text<let capacity: Int>: CommandArgument, WrittenCommandResult {
    public var string: String
    public init(_ string: String) { self.string = string }
    public static var signatureName: String { "str[\(capacity)]" }
    public static var cType: cdhs_type { CDHS_POINTER }

    public init(commandArgument bits: UInt64) {
        // The host passes NUL-terminated UTF-8 of at most `capacity` bytes.
        let pointer = UnsafePointer<CChar>(bitPattern: UInt(bits))!
        string = String(cString: pointer)
    }

    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 {
        CommandBuffer.write(Array(string.utf8), to: output)
    }
}

/// At most `capacity` bytes (bytes[N]): a record of the device's, a block
/// of its memory. Tools show them as hex digits.
public struct Bytes<let capacity: Int>: CommandArgument, WrittenCommandResult {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public static var signatureName: String { "bytes[\(capacity)]" }
    public static var cType: cdhs_type { CDHS_POINTER }

    public init(commandArgument bits: UInt64) {
        let buffer = UnsafePointer<dh_bytes>(bitPattern: UInt(bits))!.pointee
        bytes = Array(UnsafeRawBufferPointer(start: buffer.data, count: Int(min(buffer.size, UInt32(capacity)))))
    }

    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 {
        CommandBuffer.write(bytes, to: output)
    }
}

/// No result.
public struct Nothing: CommandResult {
    public init() {}
    public static let signatureName = "void"
    public static let resultCType = CDHS_VOID
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 { 0 }
}

enum CommandBuffer {
    /// Fills the host's struct dh_bytes; the status the C function returns.
    static func write(_ bytes: [UInt8], to output: UnsafeMutableRawPointer?) -> UInt64 {
        guard let buffer = output?.assumingMemoryBound(to: dh_bytes.self), let data = buffer.pointee.data,
              bytes.count <= Int(buffer.pointee.capacity) else {
            return UInt64(bitPattern: Int64(DH_ERR_INVALID))
        }
        if !bytes.isEmpty { bytes.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        buffer.pointee.size = UInt32(bytes.count)
        return UInt64(DH_OK)
    }
}
