/// Reading the JSON form back (hostctl gets a result only as JSON): null,
/// numbers, strings and objects, which is all `CommandValue.json` writes.
/// Strings come back as `.text` (hex and bytes were strings too), which
/// renders the same.
extension CommandValue {
    public struct JSONError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(json: String) throws(JSONError) {
        var reader = Reader(bytes: Array(json.utf8))
        self = try reader.value(depth: 0)
        reader.skipSpaces()
        guard reader.index == reader.bytes.count else { throw reader.fail("text after the value") }
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        func fail(_ why: String) -> JSONError { JSONError(description: "malformed result at byte \(index): \(why)") }

        mutating func skipSpaces() {
            while index < bytes.count, [0x20, 0x0a, 0x0d, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(JSONError) {
            skipSpaces()
            guard index < bytes.count, bytes[index] == byte else { throw fail("expected \"\(Character(Unicode.Scalar(byte)))\"") }
            index += 1
        }

        mutating func value(depth: Int) throws(JSONError) -> CommandValue {
            skipSpaces()
            guard index < bytes.count else { throw fail("no value") }
            switch bytes[index] {
            case UInt8(ascii: "n"):
                guard bytes[index...].starts(with: "null".utf8) else { throw fail("unknown word") }
                index += 4
                return .void
            case UInt8(ascii: "\""): return .text(try string())
            case UInt8(ascii: "{") where depth == 0: return .record(try fields())
            default: return try number()
            }
        }

        mutating func fields() throws(JSONError) -> [Field] {
            try expect(UInt8(ascii: "{"))
            var fields: [Field] = []
            skipSpaces()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return fields }
            while true {
                skipSpaces()
                let name = try string()
                try expect(UInt8(ascii: ":"))
                fields.append(Field(name: name, value: try value(depth: 1)))
                skipSpaces()
                guard index < bytes.count else { throw fail("unterminated object") }
                index += 1
                if bytes[index - 1] == UInt8(ascii: "}") { return fields }
                guard bytes[index - 1] == UInt8(ascii: ",") else { throw fail("expected \",\" or \"}\"") }
            }
        }

        mutating func number() throws(JSONError) -> CommandValue {
            let start = index
            while index < bytes.count, "+-0123456789.eE".utf8.contains(bytes[index]) { index += 1 }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if let v = UInt64(text) { return .unsigned(v) }
            if let v = Int64(text) { return .signed(v) }
            if let v = Double(text), !text.isEmpty { return .real(v) }
            index = start
            throw fail("not a value")
        }

        mutating func string() throws(JSONError) -> String {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string") }
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw fail("unterminated escape") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count,
                              let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(code) else { throw fail("bad \\u escape") }
                        index += 4
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: out.append(escaped)
                    }
                default: out.append(byte)
                }
            }
            throw fail("unterminated string")
        }
    }
}
