/// The name of a drvhost network interface: checked as the kernel would
/// (dev_valid_name) but narrower, so it is safe in any tool's command line,
/// and made from a pattern for an instance that has none yet.
public enum NetInterfaceName {
    /// IFNAMSIZ - 1: the kernel's limit, without the terminating NUL.
    public static let maxLength = 15

    /// `{plugin}` and `{pci}` (p<bus>s<slot>, f<function> if not 0, P<domain>
    /// first if not 0: the kernel's predictable names, in decimal).
    public static let defaultPattern = "dh-{plugin}-{pci}"

    /// nil if `name` is a valid name, else why not.
    public static func problem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else { return "an interface name cannot be empty" }
        guard bytes.count <= maxLength else {
            return "interface name \(name) is longer than \(maxLength) characters (IFNAMSIZ)"
        }
        guard name != ".", name != ".." else { return "\(name) is not an interface name" }
        for byte in bytes where !isAllowed(byte) {
            return "interface name \(name) may hold only letters, digits, -, _ and ."
        }
        return nil
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }

    /// nil if the pattern can make names (only known placeholders, and valid
    /// without them), else why not.
    public static func patternProblem(_ pattern: String) -> String? {
        var rest = pattern
        for placeholder in ["{plugin}", "{pci}"] { rest = rest.replacingAll(placeholder, with: "") }
        if rest.contains("{") || rest.contains("}") {
            return "interface name pattern \(pattern): the placeholders are {plugin} and {pci}"
        }
        if rest.utf8.count > maxLength - 2 {
            return "interface name pattern \(pattern) leaves no room for its placeholders within \(maxLength) characters"
        }
        if !rest.isEmpty, let problem = problem(rest) { return "interface name pattern \(pattern): \(problem)" }
        if rest.isEmpty && !pattern.contains("{pci}") && !pattern.contains("{plugin}") {
            return "the interface name pattern is empty"
        }
        return nil
    }

    /// The name for an instance: the pattern with its placeholders filled,
    /// the plugin's name shortened (and cleaned) until it fits.
    public static func make(pattern: String, plugin: String, domain: UInt16, bus: UInt8, slot: UInt8, function: UInt8) -> String {
        var pci = ""
        if domain != 0 { pci += "P\(domain)" }
        pci += "p\(bus)s\(slot)"
        if function != 0 { pci += "f\(function)" }
        let withPCI = pattern.replacingAll("{pci}", with: pci)
        var cleaned = String(decoding: plugin.utf8.map { isAllowed($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        let fixed = withPCI.replacingAll("{plugin}", with: "").utf8.count
        let uses = withPCI.components("{plugin}") - 1
        if uses > 0 {
            let room = max(1, (maxLength - fixed) / uses)
            if cleaned.utf8.count > room { cleaned = String(cleaned.prefix(room)) }
        }
        return withPCI.replacingAll("{plugin}", with: cleaned)
    }
}

extension String {
    /// Foundation-free replaceOccurrences (driverhost uses no Foundation).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }

    /// How many pieces `separator` cuts this string into.
    func components(_ separator: String) -> Int {
        var count = 1
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
