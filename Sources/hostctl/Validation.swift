import FoundationEssentials
import ArgumentParser

/// A device address as hostd names devices: a full PCI address
/// "dddd:bb:dd.f" (hex) or a simulated device "sim:NAME".
func validateDevice(_ device: String) throws {
    if device.hasPrefix("sim:"), device.count > 4 { return }
    guard isPCIAddress(device) else {
        throw ValidationError("\"\(device)\" is not a PCI address like 0000:00:05.0 or 00:05.0 (or sim:NAME)")
    }
}

/// "dddd:bb:ss.f", or "bb:ss.f" as lspci prints it (domain 0); hostd
/// takes both.
func isPCIAddress(_ text: String) -> Bool {
    let hexDigits = Set("0123456789abcdefABCDEF")
    var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    if parts.count == 2 { parts.insert("0000", at: 0) }
    let slotFunction = parts.count == 3 ? parts[2].split(separator: ".", omittingEmptySubsequences: false) : []
    let fields = parts.count == 3 && slotFunction.count == 2
        ? [Substring(parts[0]), Substring(parts[1]), slotFunction[0], slotFunction[1]] : []
    guard fields.count == 4,
          zip(fields, [4, 2, 2, 1]).allSatisfy({ $0.count == $1 && $0.allSatisfy(hexDigits.contains) }),
          let function = Int(fields[3]), function <= 7,
          let slot = Int(fields[2], radix: 16), slot <= 0x1f else { return false }
    return true
}

func validateInstance(_ instance: String) throws {
    let parts = instance.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw ValidationError("\"\(instance)\" is not an instance name like edu@0000:00:05.0")
    }
}

func validateNotEmpty(_ value: String, _ what: String) throws {
    if value.allSatisfy(\.isWhitespace) {
        throw ValidationError("\(what) must not be empty")
    }
}
