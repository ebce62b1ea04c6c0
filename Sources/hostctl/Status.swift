import ArgumentParser
import DrvHostControl

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an instance: state, DMA mode, reset, pid, standby pid, restarts, last exit, failure, interrupt counters.")

    @Argument(help: ArgumentHelp("Instance name, e.g. edu@0000:00:05.0.", valueName: "instance"))
    var instance: String

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateInstance(instance)
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            emit(try client.status(instance), json: output.json, text: statusText)
        }
    }
}
