import CDrvHostSDK

/// A named command that `driverhost --call` and `hostctl call` invoke. The
/// signature comes from the closure's types, up to six arguments:
///
///     Command("factorial", help: "n! by the device") { (edu: Edu, n: UInt32) -> UInt64 in ... }
///     Command("mac") { (nic: NIC) -> Bytes<6> in Bytes(nic.mac) }
///     Command("scale") { (d: Dev, x: Double, shift: Int8) -> Double in ... }
///
/// declare "factorial u64(u32)", "mac bytes[6]()" and "scale f64(f64,i8)".
/// driverhost calls each through a C function of exactly that signature.
public struct Command<Driver: AnyObject> {
    public let name: String
    public let signature: String
    public let help: String?
    let argumentTypes: [cdhs_type]
    let resultType: cdhs_type
    /// Runs the body: the C arguments after the context (one more, the
    /// result buffer, for written results) in, the C return value out.
    let invoke: (Driver, UnsafePointer<UInt64>) -> UInt64

    public init<each A: CommandArgument, R: CommandResult>(
        _ name: String, help: String? = nil, _ body: @escaping (Driver, repeat each A) -> R) {
        self.name = name
        self.help = help
        var names: [String] = []
        var types: [cdhs_type] = []
        repeat names.append((each A).signatureName)
        repeat types.append((each A).cType)
        let count = types.count
        if R.isWrittenThroughPointer { types.append(CDHS_POINTER) }
        signature = "\(R.signatureName)(\(names.joined(separator: ",")))"
        argumentTypes = types
        resultType = R.resultCType
        invoke = { driver, arguments in
            var index = 0
            func next<T: CommandArgument>(_ type: T.Type) -> T {
                defer { index += 1 }
                return T(commandArgument: arguments[index])
            }
            let result = body(driver, repeat next((each A).self))
            let output = R.isWrittenThroughPointer ? UnsafeMutableRawPointer(bitPattern: UInt(arguments[count])) : nil
            return result.commandResult(output: output)
        }
    }

    /// A command with no result ("void(...)").
    public init<each A: CommandArgument>(
        _ name: String, help: String? = nil, _ body: @escaping (Driver, repeat each A) -> Void) {
        self.init(name, help: help) { (driver: Driver, argument: repeat each A) -> Nothing in
            body(driver, repeat each argument)
            return Nothing()
        }
    }
}

/// Commands listed one per line, without array punctuation:
///
///     @CommandList<Edu> var commands: [Command<Edu>] { Command(...) ; Command(...) }
@resultBuilder
public enum CommandList<Driver: AnyObject> {
    public static func buildExpression(_ command: Command<Driver>) -> [Command<Driver>] { [command] }
    public static func buildBlock(_ parts: [Command<Driver>]...) -> [Command<Driver>] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Command<Driver>]?) -> [Command<Driver>] { part ?? [] }
    public static func buildEither(first: [Command<Driver>]) -> [Command<Driver>] { first }
    public static func buildEither(second: [Command<Driver>]) -> [Command<Driver>] { second }
}
