import ArgumentParser
import CommandValue
import DrvHostControl
import TerminalText

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a plugin command inside an instance's driverhost and print its result.",
        discussion: """
            The arguments are parsed by the command's declared signature \
            (e.g. u64(u32)) inside the driverhost; a wrong count or type is \
            refused with hostd's message (exit 1). Negative numbers need -- \
            before them: hostctl call edu@0000:00:05.0 add -- -1 2

            The result is printed as the signature says: uN and iN in \
            decimal, xN in hex (0x...), str[N] as text, bytes[N] as hex \
            digits, a record as name=value pairs; void commands print \
            "void". --json prints it as JSON: numbers as numbers, hex, bytes \
            and text as strings, a record as an object, void as null. \
            bytes[N] arguments are hex digits ("52:54:00:12:34:56" or \
            "525400123456"), str[N] arguments text of at most N bytes.
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
            // driverhost sends the typed result in its JSON form.
            let value: CommandValue
            do throws(CommandValue.JSONError) {
                value = try CommandValue(json: result)
            } catch {
                throw ControlClientError.protocolViolation("call result: \(error.description)")
            }
            print(output.json ? value.json : TerminalText.escape(value.text, keepingNewlines: true))
        }
    }
}
