import Glibc
import DrvHostProtocol

/// How a driverhost (or a --describe child) ended, in the words hostctl
/// status shows: "exit 40 (watchdog)", "signal 11 (SIGSEGV)".
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// An adopted driverhost (started by an earlier hostd, so not this
    /// one's child) that ended without saying its exit code: only its
    /// parent could learn how it ended.
    case unknown

    public var description: String {
        switch self {
        case .unknown:
            return "no exit status (not hostd's child)"
        case .exited(let code):
            let meaning = ExitCode(rawValue: code).map(ExitStatus.meaning) ?? "unknown exit code"
            return "exit \(code) (\(meaning))"
        case .signaled(let signal):
            return "signal \(signal) (\(ExitStatus.signalName(signal)))"
        }
    }

    /// Exits that a restart cannot cure: the same plugin file and device
    /// would fail the same way again. (A device error is not one: the
    /// proxy's release resets the device, so the next driverhost may well
    /// find it working; it counts as a crash.)
    public var isSignaled: Bool {
        if case .signaled = self { return true }
        return false
    }

    public var isPermanent: Bool {
        guard case .exited(let code) = self, let known = ExitCode(rawValue: code) else { return false }
        switch known {
        case .usage, .pluginNotLoadable, .abiMismatch, .descriptorInvalid, .deviceNotMatched, .dmaNotConfined,
             .deviceClassFailed: return true
        default: return false
        }
    }

    static func meaning(_ code: ExitCode) -> String {
        switch code {
        case .success: "orderly exit"
        case .internalError: "internal error"
        case .usage: "usage error"
        case .pluginNotLoadable: "plugin cannot be loaded"
        case .abiMismatch: "ABI refused"
        case .descriptorInvalid: "invalid descriptor"
        case .deviceUnavailable: "device unavailable"
        case .deviceSetupFailed: "device setup failed"
        case .deviceNotMatched: "device not in the match table"
        case .dmaNotConfined: "DMA cannot be confined: no IOMMU, and drvproxy's module parameter allow_unsafe_dma is off"
        case .attachFailed: "attach failed"
        case .commandFailed: "command failed"
        case .deviceClassFailed: "device class cannot be served"
        case .watchdog: "watchdog"
        case .loopFailed: "event loop failed"
        case .deviceError: "device error"
        }
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGABRT: "SIGABRT", SIGILL: "SIGILL",
                                      SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGTRAP: "SIGTRAP",
                                      SIGINT: "SIGINT", SIGHUP: "SIGHUP", SIGPIPE: "SIGPIPE"]
        return names[signal] ?? "SIG\(signal)"
    }
}
