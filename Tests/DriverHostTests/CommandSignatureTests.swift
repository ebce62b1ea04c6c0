@testable import DriverHostCore
import Testing

@Suite struct CommandSignatureTests {
    @Test func parsesDeclaredSignatures() throws {
        let factorial = try CommandSignature(parsing: "u64(u32)")
        #expect(factorial.result == .u64)
        #expect(factorial.arguments == [.u32])
        #expect(try CommandSignature(parsing: "void()").arguments.isEmpty)
        #expect(try CommandSignature(parsing: "i32(void)").arguments.isEmpty)
        #expect(try CommandSignature(parsing: "f64(i64, u8,f64)").arguments == [.i64, .u8, .f64])
        #expect(try CommandSignature(parsing: "i64(i64,i32)").description == "i64(i64,i32)")
    }

    @Test(arguments: ["u64", "u64(u33)", "(u32)", "u64(u32", "u64(void,u32)", "u64(,)",
                      "u8(u8,u8,u8,u8,u8,u8,u8)", "int(u32)"])
    func refusesMalformedSignatures(_ text: String) {
        #expect(throws: CommandSignature.ParseError.self) { try CommandSignature(parsing: text) }
    }

    @Test func encodesArgumentsWithinTheirType() throws {
        #expect(try CommandSignature.encode("255", as: .u8) == 255)
        #expect(throws: CommandSignature.ParseError.self) { try CommandSignature.encode("256", as: .u8) }
        #expect(try CommandSignature.encode("0x10", as: .u32) == 16)
        #expect(try CommandSignature.encode("-1", as: .i8) == UInt64.max)
        #expect(throws: CommandSignature.ParseError.self) { try CommandSignature.encode("-129", as: .i8) }
        #expect(throws: CommandSignature.ParseError.self) { try CommandSignature.encode("-1", as: .u64) }
        #expect(try CommandSignature.encode("1.5", as: .f64) == (1.5).bitPattern)
        #expect(CommandSignature.format(UInt64(bitPattern: -2), as: .i32) == "-2")
    }
}
