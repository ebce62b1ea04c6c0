/// A failure that ends driverhost: the exit code and a message for stderr.
public struct HostFailure: Error, CustomStringConvertible, Sendable {
    public let exitCode: ExitCode
    public let message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }
}
