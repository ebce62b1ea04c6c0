import CDrvHostSDK
@testable import DrvHostSDK
import Testing

final class Probe {}

@Suite struct CommandDeclarationTests {
    @Test func signaturesComeFromTheClosureTypes() {
        let mix = Command<Probe>("mix") { (_: Probe, a: UInt8, b: Int16, x: Double, c: UInt32, d: Int64, e: UInt16) -> Double in 0 }
        #expect(mix.signature == "f64(u8,i16,f64,u32,i64,u16)")
        #expect(mix.argumentTypes == [CDHS_U8, CDHS_I16, CDHS_F64, CDHS_U32, CDHS_I64, CDHS_U16])
        #expect(mix.resultType == CDHS_F64)
        #expect(Command<Probe>("id") { (_: Probe) -> Hex<UInt32> in Hex(1) }.signature == "x32()")
        #expect(Command<Probe>("nothing") { (_: Probe) in }.signature == "void()")
        let greet = Command<Probe>("greet") { (_: Probe, name: Text<16>) -> Text<32> in Text("hi " + name.string) }
        #expect(greet.signature == "str[32](str[16])")
        // A written result: one more C argument, an int32_t status returned.
        #expect(greet.argumentTypes == [CDHS_POINTER, CDHS_POINTER])
        #expect(greet.resultType == CDHS_I32)
        let peek = Command<Probe>("peek") { (_: Probe, n: UInt8) -> Result<Bytes<64>, DriverError> in .failure(.invalid) }
        #expect(peek.signature == "bytes[64](u8)")
    }

    @Test func bodiesGetTypedArgumentsAndWriteResults() {
        let greet = Command<Probe>("greet") { (_: Probe, name: Text<16>, times: UInt8) -> Result<Text<8>, DriverError> in
            let text = String(repeating: name.string, count: Int(times))
            return text.utf8.count > 8 ? .failure(.noMemory) : .success(Text(text))
        }
        let name = Array("ab".utf8CString)
        var data = [UInt8](repeating: 0, count: 8)
        data.withUnsafeMutableBytes { storage in
            var out = dh_bytes(data: storage.baseAddress, size: 0, capacity: 8)
            name.withUnsafeBufferPointer { text in
                withUnsafeMutablePointer(to: &out) { outPointer in
                    // Arguments as the C entry passes them: a pointer, an
                    // integer (upper bits garbage), the result buffer.
                    var arguments: [UInt64] = [UInt64(UInt(bitPattern: text.baseAddress)), 0xffff_ff03,
                                               UInt64(UInt(bitPattern: outPointer))]
                    #expect(greet.invoke(Probe(), &arguments) == UInt64(DH_OK))
                    #expect(outPointer.pointee.size == 6)
                    arguments[1] = 5
                    #expect(Int32(truncatingIfNeeded: greet.invoke(Probe(), &arguments)) == DH_ERR_NO_MEMORY)
                }
            }
        }
        #expect(Array(data.prefix(6)) == Array("ababab".utf8))
        let signed = Command<Probe>("neg") { (_: Probe, v: Int8) -> Int8 in -v }
        var argument: [UInt64] = [5]
        // Sign-extended, as libffi extends a narrow result.
        #expect(signed.invoke(Probe(), &argument) == UInt64(bitPattern: -5))
    }

    struct Link: CommandRecord {
        var mac: Bytes<6>
        var mtu: UInt32
        var name: Text<8>
        var speed: Int64
        var flags: Hex<UInt8>
        static let fields = [RecordField("mac", \Link.mac), RecordField("mtu", \Link.mtu), RecordField("name", \Link.name),
                             RecordField("speed", \Link.speed), RecordField("flags", \Link.flags)]
    }

    /// The layout the host computes for good.so's link record (CommandSignatureTests).
    @Test func recordsAreWrittenAsTheCStruct() {
        let link = Command<Probe>("link") { (_: Probe) -> Link in
            Link(mac: Bytes([0x52, 0x54, 0, 0x12, 0x34, 0x56]), mtu: 1500, name: Text("eth0"), speed: -1, flags: Hex(0xa5))
        }
        #expect(link.signature == "{mac:bytes[6],mtu:u32,name:str[8],speed:i64,flags:x8}()")
        var record = [UInt8](repeating: 0, count: 40)
        record.withUnsafeMutableBytes { out in
            var arguments: [UInt64] = [UInt64(UInt(bitPattern: out.baseAddress))]
            #expect(link.invoke(Probe(), &arguments) == UInt64(DH_OK))
        }
        #expect(Array(record[0..<6]) == [0x52, 0x54, 0, 0x12, 0x34, 0x56])
        #expect(record[8..<12].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } == 1500)
        #expect(Array(record[12..<16]) == Array("eth0".utf8))
        #expect(record[24..<32].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) } == -1)
        #expect(record[32] == 0xa5)
    }

    @Test func aResultBuilderListsCommands() {
        let include = true
        @CommandList<Probe> var commands: [Command<Probe>] {
            Command("a") { (_: Probe) -> UInt32 in 1 }
            if include { Command("b") { (_: Probe) -> UInt32 in 2 } }
        }
        #expect(commands.map(\.name) == ["a", "b"])
    }
}

@Suite struct DescriptorPartsTests {
    @Test func matchesLeaveOutWhatIsNotGiven() {
        let nvme = Match.class(0x010802).raw
        #expect(nvme.class_code == 0x010802 && nvme.class_mask == 0xff_ffff && nvme.vendor_mask == 0)
        let intel = Match(vendor: 0x8086).raw
        #expect(intel.vendor_mask == 0xffff && intel.device_mask == 0 && intel.class_mask == 0)
        let network = Match(classCode: 0x020000, classMask: 0xff0000).raw
        #expect(network.class_mask == 0xff0000)
        let edu = Match.id(vendor: 0x1234, device: 0x11e8).raw
        #expect(edu.vendor == 0x1234 && edu.device == 0x11e8 && edu.device_mask == 0xffff)
    }

    @Test func interruptsAndDurations() {
        #expect(Interrupts.msix(vectors: 4).mode == DH_IRQ_MSIX && Interrupts.msix(vectors: 4).vectors == 4)
        #expect(Interrupts.msi.vectors == 0)
        #expect(nanoseconds(.milliseconds(5)) == 5_000_000)
        #expect(nanoseconds(.seconds(-1)) == 0)
        #expect(nanoseconds(.seconds(Int64.max)) == .max)
    }

    @Test func descriptorCarriesBoundsTimersAndVectors() throws {
        let plugin = Plugin<ProbeDriver>(name: "probe", version: "1", matches: [.class(0x010802)], interrupts: .msix(vectors: 8),
                                         attachTimeout: .milliseconds(1500), callbackTimeout: .microseconds(1)) {
            Command("one") { (_: ProbeDriver) -> UInt8 in 1 }
        }
        let raw = plugin.export().assumingMemoryBound(to: dh_plugin.self).pointee
        #expect(raw.irq_mode == DH_IRQ_MSIX.rawValue && raw.msix_vectors == 8)
        #expect(raw.attach_timeout_ms == 1500 && raw.callback_timeout_ms == 1)  // rounded up, never 0
        #expect(raw.timer != nil && raw.command_count == 1 && raw.commands[0].fn != nil)
        #expect(String(cString: raw.commands[0].signature) == "u8()")
    }
}

final class ProbeDriver: Driver {
    init(device: Device) throws(DriverError) {}
}
