import ArgumentParser
import DrvHostControl

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List PCI devices like lspci -nn, with the plugin instance or kernel driver owning each and drvproxy's DMA mode.")

    @Flag(name: .shortAndLong, help: "Also each device's regions, IRQ and its sharers, interrupt kind, IOMMU group and drivers, as lspci -v -k does.")
    var verbose = false

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        try connection.withClient { client throws(ControlClientError) in
            let devices = try client.devices()
            emit(devices, json: output.json) { devices in
                verbose ? devices.map(deviceBlock).joined(separator: "\n\n") : devices.map(deviceLine).joined(separator: "\n")
            }
        }
    }
}
