/// Escaping for one field of a control line: the protocol splits lines on
/// "\n" and fields on " ", so a field must contain neither. Percent-encoding
/// of the few bytes that matter (controls, space, "%", DEL) keeps ordinary
/// text readable in logs; other bytes, UTF-8 included, pass unchanged.
public enum LineEscaping {
    public static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte <= 0x20 || byte == UInt8(ascii: "%") || byte == 0x7f {
                let hex = Array("0123456789ABCDEF".utf8)
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// nil if a "%" is not followed by two hexadecimal digits.
    public static func unescape<S: StringProtocol>(_ field: S) -> String? {
        var bytes: [UInt8] = []
        var rest = Array(field.utf8)[...]
        while let byte = rest.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard rest.count >= 2,
                  let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            rest = rest.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
