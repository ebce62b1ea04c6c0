import CDrvHost
@testable import DriverHostCore
import Testing

/// dh_instance_info grows by appending: a 1.0 caller gets its 88 bytes,
/// a 1.2 caller the BAR kinds, the interrupt line and the MSI-X table size.
@Suite struct InstanceInfoTests {
    @Test func aCurrentCallerGetsBarKinds() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        var info = dh_instance_info()
        info.struct_size = UInt32(MemoryLayout<dh_instance_info>.size)
        #expect(instance.fillInfo(&info) == DH_OK)
        #expect(info.struct_size == 112)
        let kinds = withUnsafeBytes(of: info.bar_kind) { Array($0) }
        #expect(kinds == [UInt8(DH_BAR_MEMORY), 0, 0, 0, 0, 0])
        #expect(info.irq_line == 0)   // simulated: no system IRQ
    }

    @Test func anOlderCallerGetsOnlyWhatItKnows() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        var info = dh_instance_info()
        withUnsafeMutableBytes(of: &info) { _ = $0.initializeMemory(as: UInt8.self, repeating: 0xee) }
        info.struct_size = UInt32(MemoryLayout<dh_instance_info>.offset(of: \.bar_kind)!)  // DH_INSTANCE_INFO_SIZE_1_0
        #expect(instance.fillInfo(&info) == DH_OK)
        #expect(info.struct_size == 88)
        #expect(info.vendor != 0xeeee)
        #expect(withUnsafeBytes(of: info.bar_kind) { $0.allSatisfy { $0 == 0xee } })
        #expect(info.irq_line == 0xeeee_eeee)
    }
}
