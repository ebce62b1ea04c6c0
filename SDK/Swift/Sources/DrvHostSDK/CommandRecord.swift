/// A record result ("{name:type,...}" in the signature): several values
/// from one command, each printed by name. Declare the fields once:
///
///     struct Link: CommandRecord {
///         var mac: Bytes<6>
///         var mtu: UInt32
///         static let fields = [RecordField("mac", \Link.mac), RecordField("mtu", \Link.mtu)]
///     }
///     Command("link") { (nic: NIC) -> Link in ... }   // "{mac:bytes[6],mtu:u32}()"
///
/// The SDK writes the fields into the C struct the host passes, laid out as
/// plugin.h says (declaration order, natural alignment).
public protocol CommandRecord: WrittenCommandResult {
    static var fields: [RecordField<Self>] { get }
}

/// A type a record field may have: numbers, Hex, Text<N> (char[N]) and
/// Bytes<N> (uint8_t[N]).
public protocol RecordFieldValue {
    static var signatureName: String { get }
    static var fieldSize: Int { get }
    static var fieldAlignment: Int { get }
    /// Writes the value at `address`; false if it does not fit.
    func storeField(at address: UnsafeMutableRawPointer) -> Bool
}

/// Immutable once made (a name, a layout and a key path's reader), so it
/// may be a `static let` of the record type.
public struct RecordField<Record>: @unchecked Sendable {
    let name: String
    let typeName: String
    let size: Int
    let alignment: Int
    let store: (Record, UnsafeMutableRawPointer) -> Bool

    public init<Value: RecordFieldValue>(_ name: String, _ keyPath: KeyPath<Record, Value>) {
        self.name = name
        typeName = Value.signatureName
        size = Value.fieldSize
        alignment = Value.fieldAlignment
        store = { record, address in record[keyPath: keyPath].storeField(at: address) }
    }
}

extension CommandRecord {
    public static var signatureName: String {
        "{" + fields.map { "\($0.name):\($0.typeName)" }.joined(separator: ",") + "}"
    }

    /// `output` is the zeroed struct itself.
    public func commandResult(output: UnsafeMutableRawPointer?) -> UInt64 {
        guard let output else { return UInt64(bitPattern: Int64(DriverError.invalid.code)) }
        var offset = 0
        for field in Self.fields {
            offset = (offset + field.alignment - 1) / field.alignment * field.alignment
            guard field.store(self, output + offset) else { return UInt64(bitPattern: Int64(DriverError.invalid.code)) }
            offset += field.size
        }
        return 0
    }
}

extension RecordFieldValue where Self: FixedWidthInteger {
    public static var fieldSize: Int { MemoryLayout<Self>.size }
    public static var fieldAlignment: Int { MemoryLayout<Self>.alignment }
    public func storeField(at address: UnsafeMutableRawPointer) -> Bool {
        address.storeBytes(of: self, as: Self.self)
        return true
    }
}

extension UInt8: RecordFieldValue {}
extension UInt16: RecordFieldValue {}
extension UInt32: RecordFieldValue {}
extension UInt64: RecordFieldValue {}
extension Int8: RecordFieldValue {}
extension Int16: RecordFieldValue {}
extension Int32: RecordFieldValue {}
extension Int64: RecordFieldValue {}

extension Double: RecordFieldValue {
    public static var fieldSize: Int { 8 }
    public static var fieldAlignment: Int { 8 }
    public func storeField(at address: UnsafeMutableRawPointer) -> Bool {
        address.storeBytes(of: self, as: Double.self)
        return true
    }
}

extension Hex: RecordFieldValue where Value: RecordFieldValue {
    public static var fieldSize: Int { Value.fieldSize }
    public static var fieldAlignment: Int { Value.fieldAlignment }
    public func storeField(at address: UnsafeMutableRawPointer) -> Bool { value.storeField(at: address) }
}

extension Text: RecordFieldValue {
    public static var fieldSize: Int { capacity }
    public static var fieldAlignment: Int { 1 }
    public func storeField(at address: UnsafeMutableRawPointer) -> Bool {
        let bytes = Array(string.utf8)
        guard bytes.count <= capacity else { return false }
        address.copyMemory(from: bytes, byteCount: bytes.count)
        return true
    }
}

extension Bytes: RecordFieldValue {
    public static var fieldSize: Int { capacity }
    public static var fieldAlignment: Int { 1 }
    public func storeField(at address: UnsafeMutableRawPointer) -> Bool {
        guard bytes.count <= capacity else { return false }
        address.copyMemory(from: bytes, byteCount: bytes.count)
        return true
    }
}
