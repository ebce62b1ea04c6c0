import ArgumentParser
import DrvHostControl
import FoundationEssentials
import Glibc
import TerminalText

let defaultSocketPath = ControlClient.defaultSocketPath

/// Where hostd listens; every subcommand that talks to it has this.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "hostd's control socket (default: $DRVHOST_SOCKET, else \(defaultSocketPath)).",
        valueName: "path"))
    var socket: String?

    var socketPath: String {
        if let socket { return socket }
        if let fromEnvironment = getenv("DRVHOST_SOCKET"), fromEnvironment.pointee != 0 {
            return String(cString: fromEnvironment)
        }
        return defaultSocketPath
    }

    func validate() throws {
        if let socket, socket.isEmpty {
            throw ValidationError("--socket needs a path")
        }
    }

    /// Connects, runs `body`, and turns a failure into a message on stderr
    /// and hostctl's exit code for it.
    func withClient(timeout: Int? = 120, _ body: (ControlClient) throws(ControlClientError) -> Void) throws {
        do {
            let client = try ControlClient(socketPath: socketPath, timeout: timeout)
            try body(client)
        } catch {
            printError(error.description)
            throw ExitStatus.of(error)
        }
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON, as hostd sent it.")
    var json = false
}

func printError(_ message: String) {
    // hostd's messages quote plugin text (command names, failures).
    let text = Array("hostctl: \(TerminalText.escape(message))\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
