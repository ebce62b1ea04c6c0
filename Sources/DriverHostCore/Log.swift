import CDrvHost
import Glibc
import TerminalText

/// driverhost's log: one line per message on stderr, prefixed with the
/// device, so that the supervisor can collect it as it is.
public struct Log: Sendable {
    public enum Level: Int32, Sendable, Comparable {
        case error = 0, warning, info, debug
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        var label: String {
            switch self {
            case .error: "error"
            case .warning: "warning"
            case .info: "info"
            case .debug: "debug"
            }
        }

        public init?(name: String) {
            switch name {
            case "error": self = .error
            case "warning": self = .warning
            case "info": self = .info
            case "debug": self = .debug
            default: return nil
            }
        }
    }

    public var prefix: String
    public var threshold: Level

    public init(prefix: String, threshold: Level = .info) {
        self.prefix = prefix
        self.threshold = threshold
    }

    /// "12.3": monotonic milliseconds to one decimal, for a message.
    static func milliseconds(since start: UInt64, until end: UInt64 = cdh_monotonic_ns()) -> String {
        let tenths = (end &- start + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }

    public func callAsFunction(_ level: Level, _ message: String) {
        guard level <= threshold else { return }
        // Messages carry plugin text (log lines, names, versions): escaped,
        // so that a plugin can neither drive the reader's terminal nor
        // forge a line of its own.
        let line = "\(prefix): \(level.label): \(TerminalText.escape(message))\n"
        // stderr is unbuffered in spirit: one write per line, never lost in a crash.
        // Never waits: a supervisor that is gone or slow costs log lines
        // (counted), never the interrupt loop's progress.
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { cdh_log_write($0.baseAddress, $0.count) }
    }
}
