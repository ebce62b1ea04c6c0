/// A configuration file in TOML (1.0), as an operator writes it: tables and
/// dotted keys, basic, literal and multi-line strings, integers in decimal,
/// hex, octal and binary with `_` separators, floats, booleans, arrays over
/// several lines with comments and a trailing comma, and inline tables as
/// direct values. Every value keeps the line it came from, and every refusal
/// names its line: a configuration error must say where and why.
///
/// Not read (refused with the line): dates and times, arrays of tables and
/// tables inside arrays; hostd.toml has no setting that takes them.
///
/// Why our own and not TOMLKit: TOMLKit imports Foundation (Data, Date,
/// Calendar), and Foundation is what hostd and hostctl dropped to stay small.
public struct TOMLDocument {
    public enum Value: Equatable, Sendable {
        case string(String)
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        case array([Value])
    }

    public struct Entry: Equatable, Sendable {
        public var value: Value
        public var line: Int
        public init(value: Value, line: Int) {
            self.value = value
            self.line = line
        }
    }

    /// "table.key" (or "key" at the top) -> entry; an inline table's keys
    /// are flattened the same way ("table.key.inner").
    public private(set) var entries: [String: Entry] = [:]
    public private(set) var keysInOrder: [String] = []

    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }

        public var description: String { "line \(line): \(reason)" }
    }

    /// Tables named by a [header], and inline tables (closed once written).
    private var headerTables: Set<String> = []
    private var inlineTables: Set<String> = []

    public init(parsing text: String) throws(ParseError) {
        var reader = TOMLReader(text)
        var table: [String] = []
        while true {
            try reader.skipBlankLinesAndComments()
            guard let c = reader.peek else { break }
            let line = reader.line
            if c == UInt8(ascii: "[") {
                reader.advance()
                if reader.peek == UInt8(ascii: "[") { throw reader.error("arrays of tables ([[...]]) are not supported") }
                let path = try reader.keyPath()
                guard reader.take(UInt8(ascii: "]")) else { throw reader.error("expected ] after the table name") }
                try reader.expectLineEnd()
                try openTable(path, line: line)
                table = path
                continue
            }
            let path = try reader.keyPath()
            guard reader.take(UInt8(ascii: "=")) else { throw reader.error("expected = after \(Self.name(path))") }
            try assign(table + path, line: line, from: &reader)
            try reader.expectLineEnd()
        }
    }

    static func name(_ path: [String]) -> String { path.joined(separator: ".") }

    private mutating func openTable(_ path: [String], line: Int) throws(ParseError) {
        let full = Self.name(path)
        for end in 1...path.count {
            let prefix = Self.name(Array(path[..<end]))
            if entries[prefix] != nil { throw ParseError(line: line, reason: "\(prefix) is a value, not a table") }
            if inlineTables.contains(prefix) { throw ParseError(line: line, reason: "\(prefix) is an inline table and cannot be extended") }
        }
        guard headerTables.insert(full).inserted else { throw ParseError(line: line, reason: "table [\(full)] is defined twice") }
    }

    /// `path = value`; an inline table assigns each of its keys under path.
    private mutating func assign(_ path: [String], line: Int, from reader: inout TOMLReader) throws(ParseError) {
        let full = Self.name(path)
        for end in 1..<path.count {
            let prefix = Self.name(Array(path[..<end]))
            if entries[prefix] != nil { throw ParseError(line: line, reason: "\(prefix) is a value, not a table") }
            if inlineTables.contains(prefix) { throw ParseError(line: line, reason: "\(prefix) is an inline table and cannot be extended") }
        }
        if entries[full] != nil { throw ParseError(line: line, reason: "\(full) is set twice") }
        if headerTables.contains(full) || inlineTables.contains(full) || keysInOrder.contains(where: { $0.hasPrefix(full + ".") }) {
            throw ParseError(line: line, reason: "\(full) is a table and cannot be set to a value")
        }
        reader.skipSpaces()
        guard reader.take(UInt8(ascii: "{")) else {
            entries[full] = Entry(value: try reader.value(), line: line)
            keysInOrder.append(full)
            return
        }
        // Inline table: one line, no trailing comma (TOML 1.0).
        reader.skipSpaces()
        if !reader.take(UInt8(ascii: "}")) {
            while true {
                let keyLine = reader.line
                let key = try reader.keyPath()
                guard reader.take(UInt8(ascii: "=")) else { throw reader.error("expected = after \(Self.name(key))") }
                try assign(path + key, line: keyLine, from: &reader)
                reader.skipSpaces()
                if reader.take(UInt8(ascii: "}")) { break }
                guard reader.take(UInt8(ascii: ",")) else { throw reader.error("expected , or } in the inline table \(full)") }
                reader.skipSpaces()
                if reader.peek == UInt8(ascii: "}") { throw reader.error("trailing comma in the inline table \(full)") }
            }
        }
        inlineTables.insert(full)
    }
}
