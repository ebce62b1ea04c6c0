import ArgumentParser
import DrvHostControl

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the plugins in the plugin directory and the running instances.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    /// --json shape: {"plugins": [PluginRow], "instances": [InstanceStatus]}.
    struct Listing: Codable {
        var plugins: [PluginRow]
        var instances: [InstanceStatus]
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let listing = Listing(plugins: try client.plugins(), instances: try client.instances())
            emit(listing, json: output.json) { listing in
                let plugins = listing.plugins.isEmpty ? "no plugins" : pluginTable(listing.plugins)
                let instances = listing.instances.isEmpty ? "no instances" : instanceTable(listing.instances)
                return plugins + "\n\n" + instances
            }
        }
    }
}
