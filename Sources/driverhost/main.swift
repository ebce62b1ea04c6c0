import DriverHostCore
import Glibc
import DrvHostProtocol

// driverhost: one process per device instance. See Options.help and
// DriverHostCore/DriverHost.swift; exit codes in DriverHostCore/ExitCode.swift.

func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
}

let options: Options
do {
    options = try Options(parsing: Array(CommandLine.arguments.dropFirst()))
} catch {
    writeAll(STDERR_FILENO, "driverhost: \(error.description)\n\n\(Options.help)\n")
    exit(ExitCode.usage.rawValue)
}
if options.showHelp {
    writeAll(STDOUT_FILENO, Options.help + "\n")
    exit(ExitCode.success.rawValue)
}
if let device = options.endDevice {
    exit(DriverHost.endDevice(device).rawValue)
}
if options.describe {
    exit(DriverHost.describe(options) { writeAll(STDOUT_FILENO, $0 + "\n") }.rawValue)
}
let code = DriverHost.run(options) { line in
    // Unbuffered: results must be out before a later command can crash us.
    writeAll(STDOUT_FILENO, line + "\n")
}
exit(code.rawValue)
