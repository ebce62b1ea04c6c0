import ArgumentParser
import DrvHostControl

struct Unload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unload a plugin (all its instances) or one instance; the devices go back to their kernel drivers.")

    @Argument(help: ArgumentHelp("A plugin or an instance name (edu@0000:00:05.0).", valueName: "plugin|instance"))
    var target: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateNotEmpty(target, "the plugin or instance")
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let removed = try client.unload(target)
            emit(removed, json: output.json) { removed in
                removed.isEmpty ? "no instance was running" : removed.map { "unloaded \($0)" }.joined(separator: "\n")
            }
        }
    }
}
