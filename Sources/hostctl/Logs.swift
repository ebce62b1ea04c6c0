import ArgumentParser
import DrvHostControl
import FoundationEssentials
import Glibc
import TerminalText

struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an instance's log: what its driverhosts and its plugin wrote, across restarts.",
        discussion: "hostd keeps the last 1000 lines of each instance; under systemd they are in the journal too, with the instance as a field.")

    @Argument(help: ArgumentHelp("Instance name, e.g. edu@0000:00:05.0.", valueName: "instance"))
    var instance: String

    @Option(name: [.customShort("n"), .long], help: "How many of the last lines.")
    var lines = 100

    @Flag(name: .shortAndLong, help: "Then keep printing new lines as they come (until interrupted or unloaded).")
    var follow = false

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        try validateInstance(instance)
        guard (0...100_000).contains(lines) else { throw ValidationError("--lines must be from 0 to 100000") }
    }

    func run() throws {
        try connection.withClient(timeout: follow ? nil : 120) { client throws(ControlClientError) in
            try client.logs(instance, lines: lines, follow: follow) { line in
                // Plugin text: controls are shown, never obeyed.
                print(TerminalText.escape(line))
                fflush(nil)
                return true
            }
        }
    }
}
