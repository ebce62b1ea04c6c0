/// Text from plugins (names, versions, command help, log lines, results) on
/// its way to a terminal. A terminal obeys the control characters in what it
/// prints: "\u{1b}[2J" in a plugin's version would clear the screen of
/// whoever runs `hostctl list`, "\u{1b}]0;" retitle their window, a "\r"
/// overwrite a log line. Human output therefore shows every C0 control, DEL
/// and C1 control as text ("\x1b"), and keeps all printable text, UTF-8
/// included. Machine output (--json, the control protocol) carries the exact
/// string instead and is never passed through here.
///
/// Its own module without dependencies, so that driverhost (no Foundation),
/// hostd and hostctl escape the same way.
public enum TerminalText {
    /// `text` with every control character written as `\xNN`. With
    /// `keepingNewlines`, "\n" stays a line break: for output that is made of
    /// lines on purpose, whose parts were escaped on their own.
    public static func escape(_ text: String, keepingNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) && !(keepingNewlines && $0 == "\n") }) else {
            return text
        }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isControl(scalar) && !(keepingNewlines && scalar == "\n") {
                let digits = Array("0123456789abcdef".unicodeScalars)
                out.append(contentsOf: ["\\", "x", digits[Int(scalar.value >> 4)], digits[Int(scalar.value & 0xf)]])
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// C0 (U+0000...U+001F), DEL (U+007F) and C1 (U+0080...U+009F).
    @inline(__always)
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }
}
