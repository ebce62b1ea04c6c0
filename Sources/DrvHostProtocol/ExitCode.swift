/// driverhost's exit codes: the one place they are defined. The supervisor
/// (hostd) decides on restarts from these; scripts and tests compare them.
///
/// | code | meaning |
/// | ---: | --- |
/// |  0 | orderly exit: SIGTERM, control "stop", or every --call done |
/// |  1 | internal error (a bug in driverhost) |
/// |  2 | usage: bad command line |
/// | 10 | the plugin cannot be loaded (dlopen/dlsym failed) |
/// | 11 | the plugin was built for another ABI major (or a newer minor) |
/// | 12 | the plugin's descriptor is invalid (callbacks, programs, commands) |
/// | 20 | the device cannot be opened (absent, busy, no permission) |
/// | 21 | the device refused setup (INFO, programs, IRQ mode, BAR mapping) |
/// | 22 | the device is not one the plugin's match table names |
/// | 23 | the proxy refused to open the device: no IOMMU confines its DMA (EPERM) |
/// | 30 | the plugin's attach() failed |
/// | 31 | a --call failed (unknown command, bad argument) |
/// | 32 | the plugin's device class cannot be served (malformed class half, geometry changed since the class device was made, the kernel lacks the class's driver) |
/// | 40 | watchdog: a plugin callback overran its bound |
/// | 41 | the event loop failed (an unexpected error from the kernel) |
/// | 42 | the device reported an error (AER, an ERROR event): let go to be reset |
///
/// A crash inside the plugin ends the process by that signal (e.g. SIGSEGV)
/// rather than by an exit code.
public enum ExitCode: Int32, Sendable {
    case success = 0
    case internalError = 1
    case usage = 2
    case pluginNotLoadable = 10
    case abiMismatch = 11
    case descriptorInvalid = 12
    case deviceUnavailable = 20
    case deviceSetupFailed = 21
    case deviceNotMatched = 22
    case dmaNotConfined = 23
    case attachFailed = 30
    case commandFailed = 31
    case deviceClassFailed = 32
    case watchdog = 40
    case loopFailed = 41
    case deviceError = 42

    /// What the code means, for --help (the table above, in words).
    public var meaning: String {
        switch self {
        case .success: "orderly exit: SIGTERM, control \"stop\", or every --call done"
        case .internalError: "internal error (a bug in driverhost)"
        case .usage: "usage: bad command line"
        case .pluginNotLoadable: "the plugin cannot be loaded (dlopen/dlsym failed)"
        case .abiMismatch: "the plugin was built for another ABI major (or a newer minor)"
        case .descriptorInvalid: "the plugin's descriptor is invalid (callbacks, programs, commands)"
        case .deviceUnavailable: "the device cannot be opened (absent, busy, no permission)"
        case .deviceSetupFailed: "the device refused setup (INFO, programs, IRQ mode, BAR mapping)"
        case .deviceNotMatched: "the device is not one the plugin's match table names"
        case .dmaNotConfined: "the proxy refused the device: no IOMMU confines its DMA"
        case .attachFailed: "the plugin's attach() failed"
        case .commandFailed: "a --call failed (unknown command, bad argument, the command's error)"
        case .deviceClassFailed: "the plugin's device class cannot be served (malformed, geometry changed, no kernel driver)"
        case .watchdog: "watchdog: a plugin callback overran its bound"
        case .loopFailed: "the event loop failed (an unexpected error from the kernel)"
        case .deviceError: "the device reported an error (AER): let go to be reset"
        }
    }

    public static let all: [ExitCode] = [
        .success, .internalError, .usage, .pluginNotLoadable, .abiMismatch, .descriptorInvalid,
        .deviceUnavailable, .deviceSetupFailed, .deviceNotMatched, .dmaNotConfined, .attachFailed,
        .commandFailed, .deviceClassFailed, .watchdog, .loopFailed, .deviceError,
    ]

    /// "exit codes:" and one line per code, as --help prints them.
    public static var helpTable: String {
        "exit codes:\n" + all.map { code in
            let number = String(code.rawValue)
            return "  " + number + String(repeating: " ", count: 4 - number.count) + code.meaning
        }.joined(separator: "\n") + "\n  (a crash in the plugin ends driverhost by its signal, e.g. SIGSEGV)"
    }
}
