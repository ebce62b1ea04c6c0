import CDrvHostSDK

/// A drvhost error code (DH_ERR_*), thrown by the SDK and by plugins.
public struct DriverError: Error, Equatable, CustomStringConvertible, Sendable {
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public static let invalid = DriverError(code: DH_ERR_INVALID)
    public static let noMemory = DriverError(code: DH_ERR_NO_MEMORY)
    public static let notSupported = DriverError(code: DH_ERR_NOT_SUPPORTED)
    public static let io = DriverError(code: DH_ERR_IO)
    public static let timeout = DriverError(code: DH_ERR_TIMEOUT)
    public static let state = DriverError(code: DH_ERR_STATE)
    public static let notFound = DriverError(code: DH_ERR_NOT_FOUND)
    /// The plugin's own verdict: the device misbehaves.
    public static let device = DriverError(code: DH_ERR_DEVICE)

    /// Throws unless a host function answered DH_OK.
    static func check(_ code: Int32) throws(DriverError) {
        if code != DH_OK { throw DriverError(code: code) }
    }

    public var description: String {
        switch code {
        case DH_ERR_INVALID: "DH_ERR_INVALID"
        case DH_ERR_NO_MEMORY: "DH_ERR_NO_MEMORY"
        case DH_ERR_NOT_SUPPORTED: "DH_ERR_NOT_SUPPORTED"
        case DH_ERR_IO: "DH_ERR_IO"
        case DH_ERR_TIMEOUT: "DH_ERR_TIMEOUT"
        case DH_ERR_STATE: "DH_ERR_STATE"
        case DH_ERR_NOT_FOUND: "DH_ERR_NOT_FOUND"
        case DH_ERR_DEVICE: "DH_ERR_DEVICE"
        default: "error \(code)"
        }
    }
}
