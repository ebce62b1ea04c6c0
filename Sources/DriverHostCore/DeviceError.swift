import CDrvHost

/// An ERROR record in the event stream (DRVPROXY_EVENT_ERROR): the PCI core
/// reported an error on the device (AER). Its state is unknown, so the
/// driver lets go: the process exits (ExitCode.deviceError) without calling
/// the plugin again, and the proxy's release and reset leave the device
/// quiet for the next driverhost.
public struct DeviceErrorReport: Equatable, Sendable, CustomStringConvertible {
    /// pci_channel_state_t, from the record's snap[0].
    public var channelState: UInt64
    public var sequence: UInt64

    public init(channelState: UInt64, sequence: UInt64) {
        self.channelState = channelState
        self.sequence = sequence
    }

    init(_ event: dh_event) {
        self.init(channelState: event.nsnap > 0 ? event.snap.0 : 0, sequence: event.seq)
    }

    static let flag = UInt32(DRVPROXY_EVENT_ERROR)

    /// include/linux/pci.h: pci_channel_io_normal = 1, _frozen = 2, _perm_failure = 3.
    public var channelName: String {
        switch channelState {
        case 1: "normal"
        case 2: "frozen"
        case 3: "permanent failure"
        default: "unknown (\(channelState))"
        }
    }

    public var description: String {
        "the PCI core reported an error on the device (AER, channel state \(channelName), event \(sequence))"
    }
}
