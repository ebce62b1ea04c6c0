import ArgumentParser
import DrvHostControl

struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a plugin onto every matching free device, or onto one device.")

    @Argument(help: "Plugin file in the plugin directory (edu.so) or the plugin's name.")
    var plugin: String

    @Option(help: ArgumentHelp("Only this device.", valueName: "bdf"))
    var device: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateNotEmpty(plugin, "the plugin")
        if let device { try validateDevice(device) }
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let started = try client.load(plugin: plugin, device: device)
            emit(started, json: output.json) { started in
                started.isEmpty ? "no instance started" : instanceTable(started)
            }
        }
    }
}
