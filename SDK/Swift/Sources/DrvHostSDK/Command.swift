import CDrvHostSDK

/// The integer types a command may take and return, with their names in a
/// dh_command signature ("u64(u32)").
public protocol CommandValue {
    static var signatureName: String { get }
    /// From the bits of an argument register (truncating to the type).
    init(argumentBits: UInt64)
    /// Into a return register (sign-extended for signed types).
    var resultBits: UInt64 { get }
}

extension UInt8: CommandValue { public static let signatureName = "u8" }
extension UInt16: CommandValue { public static let signatureName = "u16" }
extension UInt32: CommandValue { public static let signatureName = "u32" }
extension UInt64: CommandValue { public static let signatureName = "u64" }
extension Int8: CommandValue { public static let signatureName = "i8" }
extension Int16: CommandValue { public static let signatureName = "i16" }
extension Int32: CommandValue { public static let signatureName = "i32" }
extension Int64: CommandValue { public static let signatureName = "i64" }

extension CommandValue where Self: FixedWidthInteger {
    public init(argumentBits: UInt64) { self.init(truncatingIfNeeded: argumentBits) }
    public var resultBits: UInt64 { UInt64(truncatingIfNeeded: Int64(truncatingIfNeeded: self)) }
}

/// A named command that `driverhost --call` and `hostctl call` invoke. The
/// signature is derived from the closure's types:
///
///     Command("factorial", help: "n! by the device") { (edu: Edu, n: UInt32) -> UInt64 in ... }
///
/// declares "factorial" with signature "u64(u32)". Integer types only.
public struct Command<Driver: AnyObject> {
    public let name: String
    public let signature: String
    public let help: String?
    let invoke: (Driver, [UInt64]) -> UInt64

    public init<R: CommandValue>(_ name: String, help: String? = nil, _ body: @escaping (Driver) -> R) {
        self.name = name
        self.help = help
        signature = "\(R.signatureName)()"
        invoke = { driver, _ in body(driver).resultBits }
    }

    public init<A: CommandValue, R: CommandValue>(_ name: String, help: String? = nil, _ body: @escaping (Driver, A) -> R) {
        self.name = name
        self.help = help
        signature = "\(R.signatureName)(\(A.signatureName))"
        invoke = { driver, args in body(driver, A(argumentBits: args[0])).resultBits }
    }

    public init<A: CommandValue, B: CommandValue, R: CommandValue>(
        _ name: String, help: String? = nil, _ body: @escaping (Driver, A, B) -> R) {
        self.name = name
        self.help = help
        signature = "\(R.signatureName)(\(A.signatureName),\(B.signatureName))"
        invoke = { driver, args in body(driver, A(argumentBits: args[0]), B(argumentBits: args[1])).resultBits }
    }

    public init<A: CommandValue, B: CommandValue, C: CommandValue, R: CommandValue>(
        _ name: String, help: String? = nil, _ body: @escaping (Driver, A, B, C) -> R) {
        self.name = name
        self.help = help
        signature = "\(R.signatureName)(\(A.signatureName),\(B.signatureName),\(C.signatureName))"
        invoke = { driver, args in
            body(driver, A(argumentBits: args[0]), B(argumentBits: args[1]), C(argumentBits: args[2])).resultBits
        }
    }
}
