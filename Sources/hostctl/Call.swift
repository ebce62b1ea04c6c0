import ArgumentParser
import DrvHostControl

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a plugin command inside an instance's driverhost and print its result.",
        discussion: """
            The arguments are parsed by the command's declared signature \
            (e.g. u64(u32)) inside the driverhost; a wrong count or type is \
            refused with hostd's message (exit 1). Negative numbers need -- \
            before them: hostctl call edu@0000:00:05.0 add -- -1 2
            """)

    @Argument(help: ArgumentHelp("Instance name, e.g. edu@0000:00:05.0.", valueName: "instance"))
    var instance: String

    @Argument(help: "The plugin command's name.")
    var command: String

    @Argument(help: "The command's arguments, as text.")
    var arguments: [String] = []

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateInstance(instance)
        try validateNotEmpty(command, "the command")
    }

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let result = try client.call(instance, command: command, arguments: arguments)
            emit(result, json: output.json) { $0 }
        }
    }
}
