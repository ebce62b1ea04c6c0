/// A plugin command's result, typed by its signature, and its two forms:
/// `text` for people (driverhost --call, hostctl call) and `json` (the
/// control channel carries this form; hostctl --json prints it). One
/// definition shared by driverhost and hostctl, so both print alike.
public enum CommandValue: Equatable, Sendable {
    case void
    case unsigned(UInt64)
    case signed(Int64)
    case real(Double)
    /// An xN value, shown as 0x and `digits` hex digits.
    case hex(UInt64, digits: Int)
    case text(String)
    case bytes([UInt8])
    /// Fields in declaration order.
    case record([Field])

    public struct Field: Equatable, Sendable {
        public let name: String
        public let value: CommandValue
        public init(name: String, value: CommandValue) {
            self.name = name
            self.value = value
        }
    }

    /// For people: decimal, 0x-hex, the text itself, bytes as hex digits,
    /// a record as name=value pairs. The same from the JSON form (hostctl
    /// has only that): JSON strings are shown as they are.
    public var text: String {
        switch self {
        case .void: "void"
        case .record(let fields): fields.map { "\($0.name)=\($0.value.text)" }.joined(separator: " ")
        case .text(let string): string
        default: json.hasPrefix("\"") ? String(json.dropFirst().dropLast()) : json
        }
    }

    /// JSON: numbers as numbers (a non-finite f64 as a string), hex values,
    /// bytes and text as strings, a record as an object in field order.
    public var json: String {
        switch self {
        case .void: "null"
        case .unsigned(let v): "\(v)"
        case .signed(let v): "\(v)"
        case .real(let v): v.isFinite ? "\(v)" : "\"\(v)\""
        case .hex(let v, let digits): "\"0x\(CommandValue.hexDigits(v, digits))\""
        case .text(let s): CommandValue.quoted(s)
        case .bytes(let b): "\"" + b.map { CommandValue.hexDigits(UInt64($0), 2) }.joined() + "\""
        case .record(let fields):
            "{" + fields.map { "\(CommandValue.quoted($0.name)):\($0.value.json)" }.joined(separator: ",") + "}"
        }
    }

    static func hexDigits(_ value: UInt64, _ digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// A JSON string literal: quotes, backslashes and control characters
    /// escaped (driverhost's descriptor JSON uses it too).
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                out += "\\u" + hexDigits(UInt64(scalar.value), 4)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
