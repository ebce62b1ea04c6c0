/// A class device as the supervisor names it: "KIND:NAME" on driverhost's
/// command line, "KIND NAME" in the control protocol.
public struct ClassDevice: Equatable, Sendable {
    public var kind: String
    public var name: String

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }

    /// "block:ublkb0". Both parts non-empty, no spaces or control characters.
    public init?(argument: some StringProtocol) {
        guard let colon = argument.firstIndex(of: ":") else { return nil }
        self.init(kind: String(argument[..<colon]), name: String(argument[argument.index(after: colon)...]))
        guard isValid else { return nil }
    }

    /// Both parts are words: what either side accepts.
    public var isValid: Bool { ClassDevice.isWord(kind) && ClassDevice.isWord(name) }

    public static func isWord(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f }
    }
}

/// One counter of a device class server ("rx_frames", 1234), reported by
/// the instance's driverhost; a state such as "carrier" is 0 or 1.
public struct ClassCounter: Codable, Equatable, Sendable {
    public var name: String
    public var value: UInt64

    public init(name: String, value: UInt64) {
        self.name = name
        self.value = value
    }

    /// What the supervisor accepts in one report: so many counters, names
    /// so long, of [a-z0-9_].
    public static let maxCount = 32
    public static let maxNameLength = 32

    public static func isName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && name.utf8.count <= maxNameLength
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }
}
