import DrvHostControl
import FoundationEssentials
import TerminalText
import DrvHostProtocol

/// Prints `value` as JSON (--json) or as `text` for people.
func emit<Value: Encodable>(_ value: Value, json: Bool, text: (Value) -> String) {
    if json {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Values decoded from JSON a moment ago always encode again.
        let data = try! encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    } else {
        // Human output holds plugin text (names, versions, failures):
        // controls are shown, never obeyed. Lines stay lines; table cells
        // were escaped whole, so a plugin's "\n" cannot forge a row.
        let rendered = TerminalText.escape(text(value), keepingNewlines: true)
        if !rendered.isEmpty { print(rendered) }
    }
}

/// Columns padded to their widest cell, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows.map { $0.map { TerminalText.escape($0) } }
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.indices.map { column in
            column == row.count - 1 ? row[column]
                : padded(row[column], to: widths[column])
        }.joined(separator: "  ")
    }.joined(separator: "\n")
}

/// `text` and spaces up to `width` characters.
func padded(_ text: String, to width: Int) -> String {
    text + String(repeating: " ", count: max(0, width - text.count))
}

func hex(_ value: some BinaryInteger, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

/// One line per device in lspci -nn's form, with its owner and, for a
/// device bound to drvproxy, how its DMA is confined ("-" for others):
/// "0000:00:05.0 Unclassified device [00ff]: Device [1234:11e8]  owner: edu@0000:00:05.0 (drvproxy)  dma: confined"
func deviceLine(_ device: DeviceRow) -> String {
    let classID = hex(device.classCode >> 8, digits: 4)
    let className = device.className ?? "Class \(classID)"
    let name = [device.vendorName, device.deviceName ?? "Device"].compactMap { $0 }.joined(separator: " ")
    let ids = "\(hex(device.vendor, digits: 4)):\(hex(device.device, digits: 4))"
    let owner: String
    switch (device.instance, device.kernelDriver) {
    case (let instance?, let driver?): owner = "\(instance) (\(driver))"
    case (let instance?, nil): owner = instance
    case (nil, let driver?): owner = "kernel driver \(driver)"
    case (nil, nil): owner = "none"
    }
    return "\(device.bdf) \(className) [\(classID)]: \(name) [\(ids)]  owner: \(owner)  dma: \(device.dmaMode?.rawValue ?? "-")"
}

/// `devices -v`: the line, then lspci -v -k's details, indented (spaces:
/// tabs would be escaped with the plugin text).
func deviceBlock(_ device: DeviceRow) -> String {
    var lines = [deviceLine(device)]
    if device.subvendor != 0 || device.subdevice != 0 {
        lines.append("Subsystem: [\(hex(device.subvendor, digits: 4)):\(hex(device.subdevice, digits: 4))]")
    }
    if let details = device.details {
        if let irq = details.irq {
            let sharers = details.irqSharers.isEmpty ? "" : " (shared with \(details.irqSharers.joined(separator: ", ")))"
            lines.append("IRQ \(irq)\(sharers)")
        }
        if let interrupts = details.interrupts { lines.append("Interrupts: \(interrupts)") }
        if let group = details.iommuGroup { lines.append("IOMMU group \(group)") }
        for region in details.regions {
            let kind = region.io ? "I/O ports" : "Memory" + (region.is64Bit ? " (64-bit" : " (32-bit")
                + (region.prefetchable ? ", prefetchable)" : ", non-prefetchable)")
            lines.append("Region \(region.index): \(kind), size \(sizeText(region.size))")
        }
        if let driver = device.kernelDriver { lines.append("Kernel driver in use: \(driver)") }
        if let previous = details.previousDriver { lines.append("Driver before drvhost: \(previous)") }
    }
    return ([lines[0]] + lines.dropFirst().map { "    " + $0 }).joined(separator: "\n")
}

/// lspci's sizes: 4K, 1M, 256M.
func sizeText(_ bytes: UInt64) -> String {
    for (unit, shift) in [("G", 30), ("M", 20), ("K", 10)] where bytes >= 1 << shift && bytes % (1 << shift) == 0 {
        return "\(bytes >> shift)\(unit)"
    }
    return "\(bytes)"
}

func pluginTable(_ plugins: [PluginRow]) -> String {
    table(["FILE", "NAME", "VERSION", "STATE", "INSTANCES"], plugins.map { plugin in
        [plugin.file, plugin.name ?? "-", plugin.version ?? "-", plugin.state.rawValue,
         plugin.state == .refused ? (plugin.refusal ?? "refused")
             : plugin.instances.isEmpty ? "-" : plugin.instances.joined(separator: ", ")]
    })
}

func instanceTable(_ instances: [InstanceStatus]) -> String {
    table(["INSTANCE", "STATE", "PID", "RESTARTS", "LAST EXIT", "SERVES"], instances.map { instance in
        [instance.name, instance.state.rawValue, instance.pid.map(String.init) ?? "-",
         String(instance.restarts), instance.lastExit ?? "-", classDeviceText(instance.classDevice)]
    })
}

/// drvproxy's DMA mode, with what it means where it is not the safe one.
func dmaModeText(_ mode: DMAMode?) -> String {
    switch mode {
    case .confined?: "confined"
    case .unsafe?: "unsafe (no IOMMU: the device can reach all memory; kernel tainted)"
    case .refused?: "refused (no IOMMU, and drvproxy's allow_unsafe_dma is off)"
    case nil: "-"
    }
}

/// "block ublkb0", "net dh-edu0", or "-".
func classDeviceText(_ device: ClassDeviceStatus?) -> String {
    device.map { "\($0.kind) \($0.name)" } ?? "-"
}

/// "rx_frames=12 rx_bytes=3400 ...".
func classCountersText(_ counters: [ClassCounter]) -> String {
    counters.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
}

func resetText(_ reset: Bool?) -> String {
    switch reset {
    case true?: "yes"
    case false?: "no (the release program is the only safety net)"
    case nil: "-"
    }
}

func statusText(_ status: InstanceStatus) -> String {
    func count(_ value: UInt64?) -> String { value.map(String.init) ?? "-" }
    let fields: [(String, String)] = [
        ("state", status.state.rawValue),
        ("plugin", status.plugin),
        ("device", status.device),
        ("dma", dmaModeText(status.dmaMode)),
        ("reset", resetText(status.reset)),
        ("serves", classDeviceText(status.classDevice)),
        ("counters", status.classCounters.map(classCountersText) ?? "-"),
        ("pid", status.pid.map(String.init) ?? "-"),
        ("standby", status.standbyPid.map(String.init) ?? "-"),
        ("restarts", String(status.restarts)),
        ("last exit", status.lastExit ?? "-"),
        ("failure", status.failure ?? "-"),
        ("interrupts", count(status.interrupts)),
        ("not mine", count(status.notMine)),
        ("dropped", count(status.dropped)),
        ("releases", count(status.releases)),
        ("storms", count(status.storms)),
    ]
    return ([status.name] + fields.map { "  \(padded($0.0 + ":", to: 12))\($0.1)" })
        .joined(separator: "\n")
}
