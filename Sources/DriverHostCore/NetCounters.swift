/// What the net class counted for one driverhost's life: frames that went
/// through, and frames it dropped and why; and the carrier as the plugin
/// last set it. The supervisor shows them with the instance (`hostctl
/// status`, reported through DeviceClassServer.counters), and driverhost
/// logs them when it stops.
struct NetCounters {
    /// Received: handed over by the plugin and given to the interface.
    var rxFrames: UInt64 = 0
    var rxBytes: UInt64 = 0
    /// Received frames dropped as malformed: length 0, below 14 bytes,
    /// above the MTU's limit, or on a queue the device does not have.
    var rxMalformed: UInt64 = 0
    /// Received frames the interface refused (it is down, or out of memory).
    var rxRefused: UInt64 = 0
    /// Transmitted: taken by the plugin.
    var txFrames: UInt64 = 0
    var txBytes: UInt64 = 0
    /// Frames to transmit longer than the device's MTU allows (the
    /// interface's MTU raised by hand): dropped.
    var txOversized: UInt64 = 0
    /// Times the plugin's transmit ring was full (backpressure).
    var txRingFull: UInt64 = 0
    /// Link changes the plugin reported.
    var linkChanges: UInt64 = 0
    /// 1 while the plugin says the link is up (the interface's carrier).
    var carrier: UInt64 = 0
    /// With several queues: frames received and transmitted per queue.
    var rxQueueFrames: [UInt64]
    var txQueueFrames: [UInt64]

    init(queues: Int) {
        rxQueueFrames = Array(repeating: 0, count: queues)
        txQueueFrames = Array(repeating: 0, count: queues)
    }

    var list: [(name: String, value: UInt64)] {
        var list: [(name: String, value: UInt64)] = [
            ("rx_frames", rxFrames), ("rx_bytes", rxBytes), ("rx_malformed", rxMalformed), ("rx_refused", rxRefused),
            ("tx_frames", txFrames), ("tx_bytes", txBytes), ("tx_oversized", txOversized), ("tx_ring_full", txRingFull),
            ("link_changes", linkChanges), ("carrier", carrier)]
        if rxQueueFrames.count > 1 {
            for (queue, frames) in rxQueueFrames.enumerated() { list.append(("rxq\(queue)_frames", frames)) }
            for (queue, frames) in txQueueFrames.enumerated() { list.append(("txq\(queue)_frames", frames)) }
        }
        return list
    }

    var text: String {
        list.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
    }
}
