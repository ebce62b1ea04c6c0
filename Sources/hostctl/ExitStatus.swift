import ArgumentParser
import DrvHostControl

/// hostctl's exit codes (sysexits.h names where one fits); listed in
/// `hostctl --help`.
enum ExitStatus {
    static let refused = ExitCode(1)
    static let unavailable = ExitCode(69)       // EX_UNAVAILABLE
    static let protocolError = ExitCode(76)     // EX_PROTOCOL
    static let permissionDenied = ExitCode(77)  // EX_NOPERM

    static func of(_ error: ControlClientError) -> ExitCode {
        switch error {
        case .unreachable: unavailable
        case .socketPermissionDenied: permissionDenied
        case .refused(let refusal) where refusal.code == .permissionDenied: permissionDenied
        case .refused: refused
        case .protocolViolation: protocolError
        }
    }
}
