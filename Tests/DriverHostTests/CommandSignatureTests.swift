import CommandValue
@testable import DriverHostCore
import Testing

@Suite struct CommandSignatureTests {
    @Test func parsesDeclaredSignatures() throws {
        let factorial = try CommandSignature(parsing: "u64(u32)")
        #expect(factorial.result == .scalar(.u64))
        #expect(factorial.arguments == [.scalar(.u32)])
        #expect(try CommandSignature(parsing: "void()").arguments.isEmpty)
        #expect(try CommandSignature(parsing: "i32(void)").arguments.isEmpty)
        #expect(try CommandSignature(parsing: "f64(i64, u8,f64)").arguments == [.scalar(.i64), .scalar(.u8), .scalar(.f64)])
        #expect(try CommandSignature(parsing: "i64(i64,i32)").description == "i64(i64,i32)")
    }

    @Test func parsesBuffersHexAndRecords() throws {
        let greet = try CommandSignature(parsing: "str[32](str[16], bytes[4096], x16)")
        #expect(greet.result == .text(32))
        #expect(greet.arguments == [.text(16), .bytes(4096), .scalar(.x16)])
        // The C struct's layout: natural alignment, size rounded to the largest.
        let link = try CommandSignature(parsing: "{mac:bytes[6],mtu:u32,name:str[8],speed:i64,flags:x8}(u16)")
        guard case .record(let fields, let size) = link.result else { Issue.record("not a record"); return }
        #expect(fields.map(\.offset) == [0, 8, 12, 24, 32])
        #expect(size == 40)
        #expect(link.description == "{mac:bytes[6],mtu:u32,name:str[8],speed:i64,flags:x8}(u16)")
    }

    @Test(arguments: ["u64", "u64(u33)", "(u32)", "u64(u32", "u64(void,u32)", "u64(,)",
                      "u8(u8,u8,u8,u8,u8,u8,u8)", "int(u32)", "str[0]()", "str[4097]()", "bytes[]()",
                      "bytes[-1]()", "str[1x]()", "u8({a:u8})", "{a:u8,a:u8}()", "{A:u8}()", "{a}()",
                      "{a:u8()", "{a:void}()", "{a:bytes[4096],b:u8}()",
                      "{a:u8,b:u8,c:u8,d:u8,e:u8,f:u8,g:u8,h:u8,i:u8,j:u8,k:u8,l:u8,m:u8,n:u8,o:u8,p:u8,q:u8}()"])
    func refusesMalformedSignatures(_ text: String) {
        #expect(throws: CommandSignature.ParseError.self) { try CommandSignature(parsing: text) }
    }

    @Test func encodesArgumentsWithinTheirType() throws {
        #expect(try CommandCall.encode("255", as: .u8) == 255)
        #expect(throws: CommandSignature.ParseError.self) { try CommandCall.encode("256", as: .u8) }
        #expect(try CommandCall.encode("0x10", as: .u32) == 16)
        #expect(try CommandCall.encode("0xffff", as: .x16) == 0xffff)
        #expect(try CommandCall.encode("-1", as: .i8) == UInt64.max)
        #expect(throws: CommandSignature.ParseError.self) { try CommandCall.encode("-129", as: .i8) }
        #expect(throws: CommandSignature.ParseError.self) { try CommandCall.encode("-1", as: .u64) }
        #expect(try CommandCall.encode("1.5", as: .f64) == (1.5).bitPattern)
        #expect(CommandCall.value(bits: UInt64(bitPattern: -2), as: .i32).text == "-2")
        #expect(CommandCall.value(bits: 0x2a, as: .x32).text == "0x0000002a")
        #expect(CommandCall.bytes(fromHex: "52:54:00:12:34:56") == [0x52, 0x54, 0, 0x12, 0x34, 0x56])
        #expect(CommandCall.bytes(fromHex: "0xdeadBEEF") == [0xde, 0xad, 0xbe, 0xef])
        #expect(CommandCall.bytes(fromHex: "") == [])
        for bad in ["abc", "zz", "52:5", "52::54", "5:254"] { #expect(CommandCall.bytes(fromHex: bad) == nil) }
    }
}

/// Calls into a real C plugin (good.so) through libffi, by each signature.
@Suite struct CommandCallTests {
    @Test func passesEveryRegisterClassAndWidthByTheRealSignature() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        // f64(u8,i16,f64,u32,i64,u16): x*4 + a - b + c/2 + d*3 - e
        let result = try instance.call("mix", arguments: ["255", "-2", "0.25", "4000000000", "-5000000000", "65535"])
        let x: Double = 0.25, a: Double = 255, b: Double = -2, c: Double = 4_000_000_000, d: Double = -5_000_000_000
        let e: Double = 65535
        let expected: Double = x * 4 + a - b + c / 2 + d * 3 - e
        #expect(result == .real(expected))
        #expect(try instance.call("echo_hex", arguments: ["3735928559"]).text == "0xdeadbeef")
    }

    @Test func buffersAndTextInAndOut() throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        #expect(try instance.call("greet", arguments: ["drvhost"]) == .text("hello, drvhost"))
        #expect(try instance.call("reverse", arguments: ["01:02:03"]) == .bytes([3, 2, 1]))
        #expect(try instance.call("reverse", arguments: [""]) == .bytes([]))
        let link = try instance.call("link", arguments: ["1500"])
        #expect(link.text == "mac=525400123456 mtu=1500 name=eth0 speed=-1 flags=0xa5")
        #expect(link.json == #"{"mac":"525400123456","mtu":1500,"name":"eth0","speed":-1,"flags":"0xa5"}"#)
        // hostctl reads the JSON form back and prints the same text.
        #expect(try CommandValue(json: link.json).text == link.text)
    }

    @Test(arguments: [
        ("greet", ["seventeen bytes!!"], "17 bytes of text, more than 16"),
        ("reverse", ["00112233445566778899aabbccddeeff00"], "17 bytes, more than 16"),
        ("reverse", ["0g"], "is not hex bytes"),
        ("oversize", [], "5 result bytes, more than its signature's 4"),
        ("not_found", [], "DH_ERR_NOT_FOUND"),
        ("not_utf8", [], "not UTF-8"),
    ])
    func refusesWhatDoesNotFit(_ command: String, _ arguments: [String], _ message: String) throws {
        let (instance, _) = try attachedInstance()
        defer { instance.detach() }
        do {
            _ = try instance.call(command, arguments: arguments)
            Issue.record("\(command) succeeded")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}

@Suite struct CommandValueTests {
    @Test func jsonRoundTripsToTheSameText() throws {
        let values: [CommandValue] = [.void, .unsigned(.max), .signed(.min), .real(-0.5), .hex(0xff, digits: 2),
                                      .text("tab\tquote\"é"), .bytes([0, 255]),
                                      .record([.init(name: "a", value: .unsigned(1)), .init(name: "b", value: .text("x y"))])]
        for value in values {
            #expect(try CommandValue(json: value.json).text == value.text, "\(value.json)")
        }
        #expect(CommandValue.text("a\u{1b}b").json == #""a\u001bb""#)
        for bad in ["", "{", "nul", "\"open", "1 2", "{\"a\":{\"b\":1}}"] {
            #expect(throws: CommandValue.JSONError.self) { try CommandValue(json: bad) }
        }
    }
}
