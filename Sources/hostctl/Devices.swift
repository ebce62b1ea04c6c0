import ArgumentParser
import DrvHostControl

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List PCI devices like lspci -nn, with the plugin instance or kernel driver owning each and drvproxy's DMA mode.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let devices = try client.devices()
            emit(devices, json: output.json) { devices in
                devices.map(deviceLine).joined(separator: "\n")
            }
        }
    }
}
