import ArgumentParser
import DrvHostControl
import FoundationEssentials
import Glibc

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow the instances: each one's state now, then every change as it happens.",
        discussion: "Runs until interrupted (or until hostd stops). One line per change; --json: one JSON object per line.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try connection.withClient(timeout: nil) { client throws(ControlClientError) in
            try client.watch { status in
                if output.json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    print(String(decoding: try! encoder.encode(status), as: UTF8.self))
                } else {
                    emit(status, json: false, text: watchLine)
                }
                fflush(nil)  // a pipe reader sees each change when it happens
                return true
            }
        }
    }
}

/// "edu@0000:00:05.0 running pid 412 restarts 1 (last exit: signal 11 (SIGSEGV))"
func watchLine(_ status: InstanceStatus) -> String {
    var line = "\(status.name) \(status.state.rawValue)"
    if let pid = status.pid { line += " pid \(pid)" }
    line += " restarts \(status.restarts)"
    if let failure = status.failure { line += " (failed: \(failure))" } else if let exit = status.lastExit { line += " (last exit: \(exit))" }
    return line
}
