import DrvHostProtocol
import FoundationEssentials
import Testing

/// The describe schema as driverhost writes it (by hand) and hostd reads it
/// (Codable); PCI addresses as every program parses them; exit codes.
@Suite struct SchemaTests {
    @Test func theDescribeJSONDecodesToWhatWasWritten() throws {
        let description = PluginDescription(
            name: "edu \"quoted\"", version: "1.0\u{1b}[31m", abi: "1.2", irqMode: "msix",
            matches: [.init(vendor: 0x1234, vendorMask: 0xffff, device: 0x11e8, deviceMask: 0xffff, subvendor: 0,
                            subvendorMask: 0, subdevice: 0xffff, subdeviceMask: 0x00ff, classCode: 0x010802, classMask: 0xffffff)],
            commands: [.init(name: "factorial", signature: "u64(u32)", help: "n!\tin\none"),
                       .init(name: "reset", signature: "void()", help: nil)])
        #expect(!description.json.contains("\n"))
        let decoded = try JSONDecoder().decode(PluginDescription.self, from: Data(description.json.utf8))
        #expect(decoded == description)
    }

    @Test(arguments: [
        ("0000:00:05.0", "0000:00:05.0"), ("00:05.0", "0000:00:05.0"), ("00:1F.7", "0000:00:1f.7"),
        ("0001:1a:1f.7", "0001:1a:1f.7"), ("FFFF:FF:1F.7", "ffff:ff:1f.7"),
    ])
    func aPCIAddressIsNormalized(_ text: String, _ expected: String) {
        #expect(PCIAddress(text)?.description == expected)
        #expect(PCIAddress.normalized(text) == expected)
    }

    @Test(arguments: ["", "00:20.0", "00:05.8", "00:05", "0000:00:05", "00000:00:05.0", "000:100:05.0", "00:005.0",
                      "00:05.00", "00:5.0", "0:00:05.0", "0000:0:05.0", "sim:edu0", "00:+5.0", " 00:05.0", "00:05.0 ", "0:0:0:0.0", "00.05.0", "g0:05.0"])
    func aMalformedPCIAddressIsRefused(_ text: String) {
        #expect(PCIAddress(text) == nil, "\(text)")
    }

    @Test func everyExitCodeHasItsMeaningInTheHelpTable() {
        for code in ExitCode.all {
            #expect(ExitCode(rawValue: code.rawValue) == code)
            #expect(ExitCode.helpTable.contains(code.meaning))
        }
        #expect(Set(ExitCode.all.map(\.rawValue)).count == ExitCode.all.count)
    }
}
