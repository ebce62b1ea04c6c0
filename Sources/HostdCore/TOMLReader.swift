/// The lexical half of TOMLDocument: keys and values read from the bytes of
/// a TOML text, with the line number kept current across multi-line arrays
/// and strings so that every error names the line it is on.
struct TOMLReader {
    private let bytes: [UInt8]
    private var position = 0
    private(set) var line = 1

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    typealias ParseError = TOMLDocument.ParseError
    typealias Value = TOMLDocument.Value

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
    private func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }
    mutating func advance() { position += 1 }

    mutating func take(_ c: UInt8) -> Bool {
        guard peek == c else { return false }
        advance()
        return true
    }

    func error(_ reason: String) -> ParseError { ParseError(line: line, reason: reason) }

    mutating func skipSpaces() {
        while let c = peek, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
    }

    /// A line end (LF or CRLF), counted.
    private mutating func takeNewline() -> Bool {
        if peek == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { advance() }
        guard take(UInt8(ascii: "\n")) else { return false }
        line += 1
        return true
    }

    private mutating func skipComment() throws(ParseError) {
        guard take(UInt8(ascii: "#")) else { return }
        while let c = peek, c != UInt8(ascii: "\n") {
            if c == UInt8(ascii: "\r"), peek(1) == UInt8(ascii: "\n") { break }
            if c < 0x20 && c != UInt8(ascii: "\t") || c == 0x7f { throw error("control character in a comment") }
            advance()
        }
    }

    /// Between statements and inside arrays: spaces, comments, line ends.
    mutating func skipBlankLinesAndComments() throws(ParseError) {
        while true {
            skipSpaces()
            try skipComment()
            guard takeNewline() else { return }
        }
    }

    /// After a statement: nothing but a comment before the line ends.
    mutating func expectLineEnd() throws(ParseError) {
        skipSpaces()
        try skipComment()
        guard peek == nil || takeNewline() else { throw error("unexpected text after the value") }
    }

    // MARK: keys

    /// `a`, `a.b`, `"quoted key".'literal'`; spaces around the dots.
    mutating func keyPath() throws(ParseError) -> [String] {
        var path: [String] = []
        repeat {
            skipSpaces()
            path.append(try key())
            skipSpaces()
        } while take(UInt8(ascii: "."))
        return path
    }

    private mutating func key() throws(ParseError) -> String {
        switch peek {
        case UInt8(ascii: "\""):
            advance()
            return try basicString()
        case UInt8(ascii: "'"):
            advance()
            return try literalString()
        default:
            let start = position
            while let c = peek, c.isBareKeyCharacter { advance() }
            guard position > start else { throw error("expected a key (letters, digits, _ or -, or a quoted key)") }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
    }

    // MARK: values

    mutating func value() throws(ParseError) -> Value {
        guard let c = peek, c != UInt8(ascii: "\n"), c != UInt8(ascii: "\r"), c != UInt8(ascii: "#") else {
            throw error("missing value")
        }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == c, peek(2) == c {
                position += 3
                return .string(try multiLineString(literal: false))
            }
            advance()
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if peek(1) == c, peek(2) == c {
                position += 3
                return .string(try multiLineString(literal: true))
            }
            advance()
            return .string(try literalString())
        case UInt8(ascii: "["):
            advance()
            return .array(try array())
        case UInt8(ascii: "{"):
            throw error("inline tables inside arrays are not supported")
        default:
            return try scalar()
        }
    }

    private mutating func array() throws(ParseError) -> [Value] {
        var items: [Value] = []
        while true {
            try skipBlankLinesAndComments()
            if take(UInt8(ascii: "]")) { return items }
            items.append(try value())
            try skipBlankLinesAndComments()
            if take(UInt8(ascii: "]")) { return items }
            guard take(UInt8(ascii: ",")) else { throw error("expected , or ] in the array") }
        }
    }

    /// After the opening quote; ends at the closing one, on the same line.
    private mutating func basicString() throws(ParseError) -> String {
        var out: [UInt8] = []
        while let c = peek {
            if c == UInt8(ascii: "\"") {
                advance()
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { break }
            if c == UInt8(ascii: "\\") {
                advance()
                try escape(into: &out)
                continue
            }
            try checkStringCharacter(c)
            out.append(c)
            advance()
        }
        throw error("unterminated string (a \"...\" string ends on its line; \"\"\"...\"\"\" spans lines)")
    }

    private mutating func literalString() throws(ParseError) -> String {
        let start = position
        while let c = peek {
            if c == UInt8(ascii: "'") {
                advance()
                return String(decoding: bytes[start..<position - 1], as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") { break }
            try checkStringCharacter(c)
            advance()
        }
        throw error("unterminated literal string (a '...' string ends on its line; '''...''' spans lines)")
    }

    /// After the opening """ or '''. A line end right after the opening is
    /// not part of the text; up to two more quotes may end the text itself.
    private mutating func multiLineString(literal: Bool) throws(ParseError) -> String {
        let quote = literal ? UInt8(ascii: "'") : UInt8(ascii: "\"")
        let openedOn = line
        var out: [UInt8] = []
        _ = takeNewline()
        while let c = peek {
            if c == quote, peek(1) == quote, peek(2) == quote {
                var run = 3
                while run < 5, peek(run) == quote { run += 1 }
                out += [UInt8](repeating: quote, count: run - 3)
                position += run
                return String(decoding: out, as: UTF8.self)
            }
            if c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                guard takeNewline() else { throw error("a carriage return without a line feed in a string") }
                out.append(UInt8(ascii: "\n"))
                continue
            }
            if !literal, c == UInt8(ascii: "\\") {
                advance()
                if try skipLineEndingBackslash() { continue }
                try escape(into: &out)
                continue
            }
            try checkStringCharacter(c)
            out.append(c)
            advance()
        }
        throw ParseError(line: openedOn, reason: "unterminated multi-line string")
    }

    /// `\` at the end of a line in a """ string: the line end and the
    /// white space after it are dropped.
    private mutating func skipLineEndingBackslash() throws(ParseError) -> Bool {
        var probe = self
        probe.skipSpaces()
        guard probe.takeNewline() else { return false }
        self = probe
        while true {
            skipSpaces()
            guard takeNewline() else { return true }
        }
    }

    private func checkStringCharacter(_ c: UInt8) throws(ParseError) {
        if c < 0x20 && c != UInt8(ascii: "\t") || c == 0x7f {
            throw error("control character 0x\(String(c, radix: 16)) in a string (write it as an escape)")
        }
    }

    private mutating func escape(into out: inout [UInt8]) throws(ParseError) {
        guard let e = peek else { throw error("unterminated string") }
        advance()
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(e)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "e"): out.append(27)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            guard position + count <= bytes.count,
                  let code = UInt32(String(decoding: bytes[position..<position + count], as: UTF8.self), radix: 16),
                  let scalar = Unicode.Scalar(code) else {
                throw error("\\\(Unicode.Scalar(e)) needs \(count) hex digits naming a Unicode scalar")
            }
            position += count
            out += Array(String(Character(scalar)).utf8)
        default:
            throw error("unknown escape \\\(Unicode.Scalar(e)) (known: \\\" \\\\ \\b \\t \\n \\f \\r \\e \\uXXXX \\UXXXXXXXX)")
        }
    }

    /// Booleans, integers and floats: one run of characters, then checked.
    private mutating func scalar() throws(ParseError) -> Value {
        let start = position
        while let c = peek, c.isBareKeyCharacter || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") {
            advance()
        }
        let word = String(decoding: bytes[start..<position], as: UTF8.self)
        guard !word.isEmpty else { throw error("expected a value, found \"\(Unicode.Scalar(bytes[start]))\"") }
        switch word {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if word.looksLikeDate { throw error("dates and times (\(word)) are not supported") }
        let notAValue = error("\"\(word)\" is not a TOML value (strings are quoted; numbers, true and false are not)")
        // An unquoted PCI address (00:05.0) is a forgotten pair of quotes.
        if word.contains(":") { throw notAValue }
        if let number = try parsedNumber(word, line: line) { return number }
        throw notAValue
    }
}

/// An integer (decimal, 0x, 0o, 0b) or a float, `_` only between digits.
/// nil: not a number at all; an error: a number spelt wrongly.
private func parsedNumber(_ word: String, line: Int) throws(TOMLDocument.ParseError) -> TOMLDocument.Value? {
    func fail(_ reason: String) -> TOMLDocument.ParseError { TOMLDocument.ParseError(line: line, reason: reason) }
    let radixes: [(String, Int)] = [("0x", 16), ("0o", 8), ("0b", 2)]
    for (prefix, radix) in radixes where word.hasPrefix(prefix) {
        let digits = String(word.dropFirst(2))
        guard let plain = digits.withoutSeparators(radix: radix) else {
            throw fail("\(word) is not a base-\(radix) integer (digits, with _ only between two of them)")
        }
        guard let n = Int(plain, radix: radix) else { throw fail("\(word) does not fit in a 64-bit integer") }
        return .integer(n)
    }
    var body = Substring(word)
    let sign = body.first == "+" || body.first == "-" ? String(body.removeFirst()) : ""
    guard let first = body.first, first.isASCII, first.isNumber else { return nil }
    let isFloat = body.contains(".") || body.contains("e") || body.contains("E")
    if !isFloat {
        guard let plain = String(body).withoutSeparators(radix: 10) else {
            throw fail("\(word) is not an integer (digits, with _ only between two of them)")
        }
        guard plain == "0" || !plain.hasPrefix("0") else { throw fail("\(word): leading zeros are not allowed") }
        guard let n = Int(sign + plain) else { throw fail("\(word) does not fit in a 64-bit integer") }
        return .integer(n)
    }
    // digits [. digits] [e [sign] digits], each run with inner _ only.
    let parts = body.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
        .flatMap { $0.split(separator: "E", maxSplits: 1, omittingEmptySubsequences: false) }
    let mantissa = parts[0].split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    var exponent = parts.count > 1 ? parts[1] : nil
    if let e = exponent, e.first == "+" || e.first == "-" { exponent = e.dropFirst() }
    let runs = mantissa.map(String.init) + (exponent.map { [String($0)] } ?? [])
    guard parts.count <= 2, runs.allSatisfy({ $0.withoutSeparators(radix: 10) != nil }),
          let whole = mantissa.first.flatMap({ String($0).withoutSeparators(radix: 10) }),
          whole == "0" || !whole.hasPrefix("0"),
          let value = Double(sign + String(body).replacingSeparators()) else {
        throw fail("\(word) is not a float (like 1.5, 2e3 or 1_000.25)")
    }
    return .float(value)
}

private extension String {
    /// The digits with the `_` separators taken out, if each `_` sits
    /// between two digits of the radix; nil otherwise (or no digits).
    func withoutSeparators(radix: Int) -> String? {
        var out = ""
        var previousWasDigit = false
        for c in self {
            if c == "_" {
                guard previousWasDigit else { return nil }
                previousWasDigit = false
                continue
            }
            guard c.isASCII, c.hexDigitValue.map({ $0 < radix }) == true else { return nil }
            out.append(c)
            previousWasDigit = true
        }
        return previousWasDigit ? out : nil
    }

    func replacingSeparators() -> String { String(filter { $0 != "_" }) }

    /// 1979-05-27, 07:32:00: said as what they are, not as bad numbers.
    var looksLikeDate: Bool {
        let b = Array(utf8)
        return (b.count >= 10 && b[4] == UInt8(ascii: "-") && b[7] == UInt8(ascii: "-"))
            || (b.count >= 8 && b[2] == UInt8(ascii: ":") && b[5] == UInt8(ascii: ":"))
    }
}

private extension UInt8 {
    var isBareKeyCharacter: Bool {
        (self >= 0x30 && self <= 0x39) || (self >= 0x41 && self <= 0x5a) || (self >= 0x61 && self <= 0x7a)
            || self == UInt8(ascii: "_") || self == UInt8(ascii: "-")
    }
}
