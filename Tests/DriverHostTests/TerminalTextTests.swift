import TerminalText
import Testing

@Suite struct TerminalTextTests {
    @Test func controlsAreShownAsTextPrintableTextStays() {
        #expect(TerminalText.escape("1.0\u{1b}[2J") == #"1.0\x1b[2J"#)
        #expect(TerminalText.escape("a\u{0}b\tc\r\n\u{7f}") == #"a\x00b\x09c\x0d\x0a\x7f"#)
        #expect(TerminalText.escape("csi \u{9b}2J nel \u{85}") == #"csi \x9b2J nel \x85"#)
        #expect(TerminalText.escape("café ✓ 日本 \u{a0}") == "café ✓ 日本 \u{a0}")
    }

    @Test func linesCanStayLines() {
        #expect(TerminalText.escape("a\u{1b}\nb", keepingNewlines: true) == "a\\x1b\nb")
        // Escaped text has no controls left: escaping again changes nothing.
        let once = TerminalText.escape("x\u{1b}]0;t\u{7}")
        #expect(TerminalText.escape(once) == once)
    }
}
