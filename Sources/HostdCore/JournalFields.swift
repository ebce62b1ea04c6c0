import Logging

/// A journal entry in systemd's native protocol (systemd.journal-fields(7),
/// "Native Journal Protocol"): `NAME=value\n` per field, or, for a value
/// with a line feed in it, `NAME\n`, the value's length as 64-bit
/// little-endian, the value and `\n`.
enum JournalFields {
    static func encode(_ fields: [(name: String, value: String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in fields {
            out += name.utf8
            let bytes = Array(value.utf8)
            if bytes.contains(UInt8(ascii: "\n")) {
                out.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { out += $0 }
            } else {
                out.append(UInt8(ascii: "="))
            }
            out += bytes
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// A metadata key as a field name of hostd's own: DRVHOST_ and the key in
    /// upper case, anything but A-Z, 0-9 and _ as _ (journald drops fields
    /// with other names), at most 64 characters as journald allows.
    static func name(forMetadataKey key: String) -> String {
        let body = key.uppercased().unicodeScalars.map { c -> Character in
            ("A"..."Z").contains(c) || ("0"..."9").contains(c) ? Character(c) : "_"
        }
        return String(("DRVHOST_" + String(body)).prefix(64))
    }

    /// syslog(3)'s priorities, which journalctl -p filters on.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }
}
