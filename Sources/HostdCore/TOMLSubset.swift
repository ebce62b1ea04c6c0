/// The part of TOML hostd's configuration uses: `[table]` headers,
/// `key = value` with basic strings, integers, booleans and one-line arrays
/// of those, and `#` comments. Anything else is refused with its line, which
/// is the point: a configuration error must name the line and the reason,
/// and every value keeps the line it came from for later checks.
public struct TOMLSubset {
    public enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case array([Value])
    }

    public struct Entry: Equatable, Sendable {
        public var value: Value
        public var line: Int
    }

    /// "table.key" (or "key" at the top) -> entry.
    public private(set) var entries: [String: Entry] = [:]
    public private(set) var keysInOrder: [String] = []

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public init(parsing text: String) throws(ParseError) {
        var table = ""
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var scanner = Scanner(Array(rawLine.utf8), line: number)
            scanner.skipSpaces()
            if scanner.atEndOrComment { continue }
            if scanner.peek == UInt8(ascii: "[") {
                scanner.advance()
                let name = try scanner.bareKey()
                guard scanner.take(UInt8(ascii: "]")) else { throw ParseError(line: number, reason: "expected ] after table name") }
                try scanner.expectEnd()
                table = name
                continue
            }
            let key = try scanner.bareKey()
            scanner.skipSpaces()
            guard scanner.take(UInt8(ascii: "=")) else { throw ParseError(line: number, reason: "expected = after \(key)") }
            scanner.skipSpaces()
            let value = try scanner.value()
            try scanner.expectEnd()
            let full = table.isEmpty ? key : "\(table).\(key)"
            guard entries[full] == nil else { throw ParseError(line: number, reason: "\(full) is set twice") }
            entries[full] = Entry(value: value, line: number)
            keysInOrder.append(full)
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        let line: Int
        var position = 0

        init(_ bytes: [UInt8], line: Int) {
            self.bytes = bytes.last == UInt8(ascii: "\r") ? Array(bytes.dropLast()) : bytes
            self.line = line
        }

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }
        mutating func advance() { position += 1 }

        mutating func skipSpaces() {
            while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
        }

        mutating func take(_ c: UInt8) -> Bool {
            guard peek == c else { return false }
            advance()
            return true
        }

        func error(_ reason: String) -> ParseError { ParseError(line: line, reason: reason) }

        mutating func expectEnd() throws(ParseError) {
            skipSpaces()
            guard atEndOrComment else { throw error("unexpected text after the value") }
        }

        mutating func bareKey() throws(ParseError) -> String {
            skipSpaces()
            let start = position
            while let c = peek, c.isKeyCharacter { advance() }
            guard position > start else { throw error("expected a key (letters, digits, _ or -)") }
            let key = String(decoding: bytes[start..<position], as: UTF8.self)
            skipSpaces()
            return key
        }

        mutating func value() throws(ParseError) -> Value {
            guard let c = peek else { throw error("missing value") }
            switch c {
            case UInt8(ascii: "\""): return .string(try basicString())
            case UInt8(ascii: "["): return .array(try array())
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let word = takeWord()
                switch word {
                case "true": return .boolean(true)
                case "false": return .boolean(false)
                default: throw error("unknown value \(word)")
                }
            default:
                let word = takeWord().replacingUnderscores()
                guard let n = Int(word) else { throw error("\"\(word)\" is not a string, integer, boolean or array") }
                return .integer(n)
            }
        }

        mutating func takeWord() -> String {
            let start = position
            while let c = peek, c.isKeyCharacter || c == UInt8(ascii: "+") { advance() }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func basicString() throws(ParseError) -> String {
            advance()
            var out: [UInt8] = []
            while let c = peek {
                advance()
                switch c {
                case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = peek else { break }
                    advance()
                    switch e {
                    case UInt8(ascii: "\""): out.append(e)
                    case UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    default: throw error("unsupported escape \\\(Unicode.Scalar(e))")
                    }
                default: out.append(c)
                }
            }
            throw error("unterminated string")
        }

        mutating func array() throws(ParseError) -> [Value] {
            advance()
            var items: [Value] = []
            skipSpaces()
            if take(UInt8(ascii: "]")) { return items }
            while true {
                skipSpaces()
                items.append(try value())
                skipSpaces()
                if take(UInt8(ascii: "]")) { return items }
                guard take(UInt8(ascii: ",")) else { throw error("expected , or ] in array (arrays must fit on one line)") }
                skipSpaces()
                if take(UInt8(ascii: "]")) { return items }
            }
        }
    }
}

private extension UInt8 {
    var isKeyCharacter: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5a) || (self >= 0x61 && self <= 0x7a)
            || self == UInt8(ascii: "_") || self == UInt8(ascii: "-")
    }
}

private extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
