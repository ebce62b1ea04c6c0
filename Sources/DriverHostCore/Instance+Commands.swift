import CDrvHost
import CommandValue
import DrvHostProtocol

/// Plugin commands (hostctl call, --call), called through libffi by their
/// declared signature.
extension Instance {
    /// Invokes a command with arguments given as text, parsed by its
    /// declared signature; returns its typed result.
    public func call(_ name: String, arguments: [String]) throws(HostFailure) -> CommandValue {
        guard let command = descriptor.command(named: name) else {
            let known = descriptor.commands.map { "\($0.name) \($0.signature)" }.joined(separator: ", ")
            throw HostFailure(.commandFailed, "plugin \(descriptor.name) has no command \"\(name)\" (it has: \(known.isEmpty ? "none" : known))")
        }
        let signature = command.signature
        guard arguments.count == signature.arguments.count else {
            throw HostFailure(.commandFailed, "command \(name) is \(signature): it takes \(signature.arguments.count) argument(s), \(arguments.count) given")
        }
        let call: CommandCall
        do {
            call = try CommandCall(signature, arguments: arguments)
        } catch {
            throw HostFailure(.commandFailed, "command \(name) is \(signature): \(error.description)")
        }
        let context = self.context
        let called = timed(CDH_CALLBACK_COMMAND) { watchdog.guarding(commandBound) { call.invoke(command.function, context: context) } }
        guard called else { throw HostFailure(.commandFailed, "libffi cannot call \(name) as \(signature)") }
        do {
            return try call.result()
        } catch {
            throw HostFailure(.commandFailed, "command \(name): \(error.description)")
        }
    }
}
