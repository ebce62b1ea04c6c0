import HostdCore
import Testing

/// TOML as an operator writes it, each form on its own, and the refusals
/// with the line they name.
@Suite struct TOMLDocumentTests {
    func parse(_ text: String) throws -> TOMLDocument { try TOMLDocument(parsing: text) }

    func value(_ text: String, _ key: String = "k") throws -> TOMLDocument.Value? {
        try parse(text).entries[key]?.value
    }

    func refusal(_ text: String) -> TOMLDocument.ParseError? {
        do {
            _ = try TOMLDocument(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    @Test func arraysSpanLinesWithCommentsAndATrailingComma() throws {
        let document = try parse("""
            claim = [
                "0000:00:05.0",   # the edu card
                # "0000:00:06.0", kept for later
                "0000:00:07.0",
            ]
            after = 1
            nested = [ [1, 2], [], ["a"] ]
            """)
        #expect(document.entries["claim"] == .init(value: .array([.string("0000:00:05.0"), .string("0000:00:07.0")]), line: 1))
        #expect(document.entries["after"]?.line == 6)
        #expect(document.entries["nested"]?.value == .array([.array([.integer(1), .integer(2)]), .array([]), .array([.string("a")])]))
        #expect(document.keysInOrder == ["claim", "after", "nested"])
    }

    @Test func stringsInEveryForm() throws {
        #expect(try value(#"k = "tab\there \"q\" \\ \u00e9 \U0001F600 \e""#) == .string("tab\there \"q\" \\ é 😀 \u{1b}"))
        #expect(try value(#"k = 'C:\plugins\no escapes'"#) == .string(#"C:\plugins\no escapes"#))
        #expect(try value("k = \"\"\"\nfirst\n  second\"\"\"") == .string("first\n  second"))
        #expect(try value("k = \"\"\"one \\\n     two \\\n\n   three\"\"\"") == .string("one two three"))
        #expect(try value("k = '''\nraw \\n kept\n'''") == .string("raw \\n kept\n"))
        #expect(try value("k = \"\"\"say \"hi\"\"\"\"") == .string("say \"hi\""))
        #expect(try value("k = \"\"") == .string(""))
        let document = try parse("a = \"\"\"\nx\ny\n\"\"\"\nb = 2")
        #expect(document.entries["b"]?.line == 5)
    }

    @Test func integersInEveryForm() throws {
        #expect(try value("k = 30_000") == .integer(30_000))
        #expect(try value("k = +42") == .integer(42))
        #expect(try value("k = -17") == .integer(-17))
        #expect(try value("k = 0") == .integer(0))
        #expect(try value("k = 0xDEAD_beef") == .integer(0xdead_beef))
        #expect(try value("k = 0o755") == .integer(0o755))
        #expect(try value("k = 0b1010_0101") == .integer(0b1010_0101))
        #expect(try value("k = 9223372036854775807") == .integer(Int.max))
    }

    @Test func floatsAndBooleans() throws {
        #expect(try value("k = 1.5") == .float(1.5))
        #expect(try value("k = -2e3") == .float(-2000))
        #expect(try value("k = 1_000.25E-2") == .float(10.0025))
        #expect(try value("k = inf") == .float(.infinity))
        guard case .float(let nan) = try value("k = nan") else { Issue.record("nan is not a float"); return }
        #expect(nan.isNaN)
        #expect(try value("k = true") == .boolean(true))
        #expect(try value("k = false # no") == .boolean(false))
    }

    @Test func tablesAndDottedAndQuotedKeys() throws {
        let document = try parse("""
            top = 1
            [ restart ]
            max_crashes = 3
            policy.window_ms = 10
            [instance . "odd key"]
            'x y' = 2
            """)
        #expect(document.keysInOrder == ["top", "restart.max_crashes", "restart.policy.window_ms", "instance.odd key.x y"])
        #expect(document.entries["instance.odd key.x y"] == .init(value: .integer(2), line: 6))
    }

    @Test func inlineTablesAssignEachOfTheirKeys() throws {
        let document = try parse("restart = { max_crashes = 3, window_ms = 10_000, b.c = \"x\" }\nnext = {}")
        #expect(document.entries["restart.max_crashes"] == .init(value: .integer(3), line: 1))
        #expect(document.entries["restart.window_ms"]?.value == .integer(10_000))
        #expect(document.entries["restart.b.c"]?.value == .string("x"))
        #expect(document.entries["next"] == nil)
    }

    @Test func windowsLineEndsAreLineEnds() throws {
        let document = try parse("a = 1\r\nlist = [\r\n  2,\r\n]\r\nb = 'x'\r\n")
        #expect(document.entries["b"] == .init(value: .string("x"), line: 5))
    }

    @Test(arguments: [
        // text, line, reason
        ("ok = 1\nk = [\n  1,\n  2\n  3\n]", 5, "expected , or ] in the array"),
        ("k = [1,\n\n", 3, "missing value"),
        ("\nk = \"open\n\"", 2, "unterminated string (a \"...\" string ends on its line; \"\"\"...\"\"\" spans lines)"),
        ("k = 'open", 1, "unterminated literal string (a '...' string ends on its line; '''...''' spans lines)"),
        ("x = 1\nk = \"\"\"\nnever\nclosed", 2, "unterminated multi-line string"),
        ("k = 007", 1, "007: leading zeros are not allowed"),
        ("k = 1__000", 1, "1__000 is not an integer (digits, with _ only between two of them)"),
        ("k = 1000_", 1, "1000_ is not an integer (digits, with _ only between two of them)"),
        ("k = 0x", 1, "0x is not a base-16 integer (digits, with _ only between two of them)"),
        ("k = 0b102", 1, "0b102 is not a base-2 integer (digits, with _ only between two of them)"),
        ("k = 9223372036854775808", 1, "9223372036854775808 does not fit in a 64-bit integer"),
        ("k = 1.", 1, "1. is not a float (like 1.5, 2e3 or 1_000.25)"),
        ("k = yes", 1, "\"yes\" is not a TOML value (strings are quoted; numbers, true and false are not)"),
        ("k = 1979-05-27", 1, "dates and times (1979-05-27) are not supported"),
        ("k = 07:32:00", 1, "dates and times (07:32:00) are not supported"),
        ("k = \"a\\qb\"", 1, "unknown escape \\q (known: \\\" \\\\ \\b \\t \\n \\f \\r \\e \\uXXXX \\UXXXXXXXX)"),
        ("k = \"\\uD800\"", 1, "\\u needs 4 hex digits naming a Unicode scalar"),
        ("k = 1 2", 1, "unexpected text after the value"),
        ("k =", 1, "missing value"),
        ("= 1", 1, "expected a key (letters, digits, _ or -, or a quoted key)"),
        ("k 1", 1, "expected = after k"),
        ("[t]\nk = 1\n[t]", 3, "table [t] is defined twice"),
        ("a = 1\na = 2", 2, "a is set twice"),
        ("a = 1\n[a.b]", 2, "a is a value, not a table"),
        ("a.b = 1\na = 2", 2, "a is a table and cannot be set to a value"),
        ("a = { x = 1 }\n[a]", 2, "a is an inline table and cannot be extended"),
        ("a = { x = 1 }\na.y = 2", 2, "a is an inline table and cannot be extended"),
        ("a = { x = 1, }", 1, "trailing comma in the inline table a"),
        ("k = [ { x = 1 } ]", 1, "inline tables inside arrays are not supported"),
        ("[[plugins]]", 1, "arrays of tables ([[...]]) are not supported"),
        ("[t", 1, "expected ] after the table name"),
        ("k = \"bell\u{07}\"", 1, "control character 0x7 in a string (write it as an escape)"),
    ])
    func refusalsNameTheLine(text: String, line: Int, reason: String) {
        #expect(refusal(text) == TOMLDocument.ParseError(line: line, reason: reason))
    }
}
