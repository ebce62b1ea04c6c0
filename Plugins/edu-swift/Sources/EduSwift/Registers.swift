import DrvHostSDK

/// QEMU's edu device (1234:11e8), BAR0 register map, from QEMU
/// docs/specs/edu.rst; the same values as Plugins/edu/edu_regs.h.
enum Edu {
    static let vendor: UInt16 = 0x1234
    static let device: UInt16 = 0x11e8

    enum Register {
        static let id = DrvHostSDK.Register<UInt32>(0x00)             // 0xRRrr00ed
        static let liveness = DrvHostSDK.Register<UInt32>(0x04)       // reads back the bitwise NOT
        static let factorial = DrvHostSDK.Register<UInt32>(0x08)
        static let status = DrvHostSDK.Register<UInt32>(0x20)
        static let irqStatus = DrvHostSDK.Register<UInt32>(0x24)
        static let irqRaise = DrvHostSDK.Register<UInt32>(0x60)
        static let irqAck = DrvHostSDK.Register<UInt32>(0x64)
        static let dmaSource = DrvHostSDK.Register<UInt32>(0x80)
        static let dmaDestination = DrvHostSDK.Register<UInt32>(0x88)
        static let dmaCount = DrvHostSDK.Register<UInt32>(0x90)
        static let dmaCommand = DrvHostSDK.Register<UInt32>(0x98)
    }

    static let statusComputing: UInt32 = 0x01
    static let statusIRQOnFactorial: UInt32 = 0x80
    static let irqFactorial: UInt32 = 0x001
    static let irqDMA: UInt32 = 0x100
    static let pingShift: UInt32 = 16
    static let pingMask: UInt32 = 0xffff_0000

    static let dmaRun: UInt32 = 0x1
    static let dmaToRAM: UInt32 = 0x2
    static let dmaIRQ: UInt32 = 0x4
    static let dmaBuffer: UInt64 = 0x40000
    static let dmaBufferSize: UInt64 = 4096
    static let dmaMaskBits: UInt32 = 28
    /// Not the whole buffer: QEMU's range check is off by one at its end.
    static let dmaTransferLength = 2048

    /// The release program's last write; reads back as its complement.
    static let releaseMarker: UInt32 = 0xD15E_A5ED
}

/// Register programs name registers by BAR and 32-bit offset.
extension Instruction {
    static func read32(_ register: DrvHostSDK.Register<UInt32>) -> Instruction {
        .read32(bar: UInt8(register.bar), UInt32(register.offset))
    }
    static func write32(_ register: DrvHostSDK.Register<UInt32>) -> Instruction {
        .write32(bar: UInt8(register.bar), UInt32(register.offset))
    }
    static func write32(_ register: DrvHostSDK.Register<UInt32>, value: UInt32) -> Instruction {
        .write32(bar: UInt8(register.bar), UInt32(register.offset), value: value)
    }
    static func poll32(_ register: DrvHostSDK.Register<UInt32>, mask: UInt32, equals value: UInt32,
                       timeoutMicroseconds: UInt32) -> Instruction {
        .poll32(bar: UInt8(register.bar), UInt32(register.offset), mask: mask, equals: value,
                timeoutMicroseconds: timeoutMicroseconds)
    }
}
