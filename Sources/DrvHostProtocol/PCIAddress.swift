/// A PCI function's address, the one parser for every program: sysfs's
/// "dddd:bb:ss.f" (hexadecimal) or lspci's short "bb:ss.f" (domain 0).
/// Upper-case digits are accepted; `description` is sysfs's spelling.
public struct PCIAddress: Hashable, Sendable, CustomStringConvertible {
    public var domain: UInt16
    public var bus: UInt8
    public var slot: UInt8
    public var function: UInt8

    public init?(domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8) {
        guard slot < 32, function < 8 else { return nil }
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function
    }

    /// nil for anything but [dddd:]bb:ss.f: exactly 4, 2, 2 and 1 hex
    /// digits (as sysfs and lspci print them), slot below 32, function
    /// below 8, nothing else around them.
    public init?(_ text: some StringProtocol) {
        let colons = text.split(separator: ":", omittingEmptySubsequences: false)
        guard colons.count == 2 || colons.count == 3 else { return nil }
        let slotFunction = colons[colons.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard slotFunction.count == 2,
              let domain = colons.count == 3 ? PCIAddress.hex(colons[0], digits: 4) : 0,
              let bus = PCIAddress.hex(colons[colons.count - 2], digits: 2),
              let slot = PCIAddress.hex(slotFunction[0], digits: 2),
              let function = PCIAddress.hex(slotFunction[1], digits: 1) else { return nil }
        self.init(domain: UInt16(domain), bus: UInt8(bus), slot: UInt8(slot), function: UInt8(function))
    }

    /// "0000:00:05.0".
    public var description: String {
        "\(PCIAddress.hex(UInt64(domain), 4)):\(PCIAddress.hex(UInt64(bus), 2)):\(PCIAddress.hex(UInt64(slot), 2)).\(function)"
    }

    /// The sysfs spelling of `text`, or nil if it is no PCI address.
    public static func normalized(_ text: some StringProtocol) -> String? {
        PCIAddress(text)?.description
    }

    /// `value` in lower-case hex, zero-padded to `width` digits.
    public static func hex(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Exactly `digits` hex digits and nothing else (no sign, no spaces).
    private static func hex(_ text: some StringProtocol, digits: Int) -> UInt64? {
        guard text.utf8.count == digits else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
