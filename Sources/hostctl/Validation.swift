import FoundationEssentials
import ArgumentParser
import DrvHostProtocol

/// A device address as hostd names devices: a full PCI address
/// "dddd:bb:dd.f" (hex) or a simulated device "sim:NAME".
func validateDevice(_ device: String) throws {
    if device.hasPrefix("sim:"), device.count > 4 { return }
    guard PCIAddress(device) != nil else {
        throw ValidationError("\"\(device)\" is not a PCI address like 0000:00:05.0 or 00:05.0 (or sim:NAME)")
    }
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
