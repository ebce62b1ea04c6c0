import CDrvHostSDK

/// One register-program instruction (struct dh_insn). Programs are arrays of
/// these, read top to bottom, e.g. edu's ACK program:
///
///     [.read32(bar: 0, 0x24), .notMineIfZero, .snapshot, .write32(bar: 0, 0x64)]
///
/// One 64-bit accumulator, no loops; the kernel (or devsim) validates the
/// program once when driverhost installs it and names the bad instruction.
public struct Instruction: Sendable {
    public let raw: dh_insn

    init(_ op: dh_op, width: UInt8 = 0, bar: UInt8 = 0, offset: UInt32 = 0, imm: UInt64 = 0,
         expect: UInt64 = 0, timeoutUs: UInt32 = 0) {
        raw = dh_insn(op: UInt8(op.rawValue), width: width, bar: bar, reserved0: 0, offset: offset,
                      imm: imm, expect: expect, timeout_us: timeoutUs, reserved1: 0)
    }

    // Register reads into the accumulator.
    public static func read8(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_READ, width: 1, bar: bar, offset: offset) }
    public static func read16(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_READ, width: 2, bar: bar, offset: offset) }
    public static func read32(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_READ, width: 4, bar: bar, offset: offset) }
    public static func read64(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_READ, width: 8, bar: bar, offset: offset) }

    // Register writes of the accumulator (truncated to the width).
    public static func write8(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_WRITE, width: 1, bar: bar, offset: offset) }
    public static func write16(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_WRITE, width: 2, bar: bar, offset: offset) }
    public static func write32(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_WRITE, width: 4, bar: bar, offset: offset) }
    public static func write64(bar: UInt8, _ offset: UInt32) -> Self { .init(DH_OP_WRITE, width: 8, bar: bar, offset: offset) }

    /// Write a constant: `.write32(bar: 0, 0x20, value: 0)`.
    public static func write32(bar: UInt8, _ offset: UInt32, value: UInt32) -> Self {
        .init(DH_OP_WRITE_IMM, width: 4, bar: bar, offset: offset, imm: UInt64(value))
    }
    public static func write64(bar: UInt8, _ offset: UInt32, value: UInt64) -> Self {
        .init(DH_OP_WRITE_IMM, width: 8, bar: bar, offset: offset, imm: value)
    }

    // The accumulator.
    public static func load(_ value: UInt64) -> Self { .init(DH_OP_LOAD_IMM, imm: value) }
    public static func and(_ mask: UInt64) -> Self { .init(DH_OP_AND, imm: mask) }
    public static func or(_ bits: UInt64) -> Self { .init(DH_OP_OR, imm: bits) }
    public static func xor(_ bits: UInt64) -> Self { .init(DH_OP_XOR, imm: bits) }
    public static func shiftLeft(_ count: UInt64) -> Self { .init(DH_OP_SHL, imm: count) }
    public static func shiftRight(_ count: UInt64) -> Self { .init(DH_OP_SHR, imm: count) }

    /// ACK only: an accumulator of 0 means the interrupt is not ours (shared line).
    public static let notMineIfZero = Self(DH_OP_NOT_MINE_IF_ZERO)
    /// ACK only: append the accumulator to the event's snapshots.
    public static let snapshot = Self(DH_OP_SNAPSHOT)

    /// RELEASE only: wait.
    public static func delay(microseconds: UInt32) -> Self { .init(DH_OP_DELAY, imm: UInt64(microseconds)) }
    /// RELEASE only: read until (register & mask) == value, at most timeout.
    public static func poll32(bar: UInt8, _ offset: UInt32, mask: UInt32, equals value: UInt32,
                              timeoutMicroseconds: UInt32) -> Self {
        .init(DH_OP_POLL, width: 4, bar: bar, offset: offset, imm: UInt64(mask), expect: UInt64(value),
              timeoutUs: timeoutMicroseconds)
    }
}
