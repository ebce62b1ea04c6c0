import ArgumentParser
import DrvHostControl

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart an instance's driverhost (also one that has failed).")

    @Argument(help: ArgumentHelp("Instance name, e.g. edu@0000:00:05.0.", valueName: "instance"))
    var instance: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateInstance(instance)
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            emit(try client.restart(instance), json: output.json, text: statusText)
        }
    }
}
