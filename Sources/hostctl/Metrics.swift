import ArgumentParser
import DrvHostControl

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print every instance's counters and state in Prometheus' text format.",
        discussion: """
            The same text hostd serves over HTTP when hostd.toml sets \
            metrics_listen (e.g. "127.0.0.1:9464", path /metrics).
            """)

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            print(try client.metrics(), terminator: "")
        }
    }
}
