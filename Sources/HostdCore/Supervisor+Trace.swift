import DrvHostControl
import DrvHostProtocol

/// `hostctl trace`: the instance's driverhost traces (register accesses,
/// events, callbacks) while at least one client follows; hostd relays its
/// "trace" lines to each follower and turns tracing off when the last one
/// goes. A driverhost started later (a restart) is asked again once it has
/// attached.
///
/// Bounds: driverhost sends at most Trace.bytesPerSecond (a quarter of
/// InputBudget, which it shares with the control channel and stderr), so a
/// traced instance is never killed for flooding; a follower that reads
/// slower than the trace comes loses the oldest batches, counted in the
/// batches it gets.
extension Supervisor {
    /// Batches a follower may fall behind by before the oldest go.
    static let traceBuffer = 64
    /// How often a follower gets a batch even when nothing happened: it
    /// shows the drop counts and finds a client that has gone.
    static let traceTick = Duration.seconds(1)

    public func trace(_ instance: String) async throws(ControlError) -> AsyncStream<TraceBatch> {
        let record = try findInstance(instance)
        let (stream, continuation) = AsyncStream.makeStream(of: TraceBatch.self, bufferingPolicy: .bufferingNewest(Self.traceBuffer))
        let id = nextObserver
        nextObserver += 1
        let first = record.trace.followers.isEmpty
        record.trace.followers[id] = .init(continuation: continuation)
        if first {
            record.trace.droppedInDriverhost = 0
            record.trace.droppedEarlier = 0
            record.connection?.setTracing(true)
        }
        continuation.yield(TraceBatch(records: [], droppedInDriverhost: 0, droppedInHostd: 0))
        let name = record.name
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.traceTick)
                await self?.traceTick(name, id)
            }
        }
        continuation.onTermination = { _ in
            ticker.cancel()
            Task { await self.stopTracing(name, id) }
        }
        return stream
    }

    private func traceTick(_ instance: String, _ id: Int) {
        guard let record = instances[instance] else { return }
        relay(TraceBatch(records: [], droppedInDriverhost: 0, droppedInHostd: 0), to: id, of: record)
    }

    private func stopTracing(_ instance: String, _ id: Int) {
        guard let record = instances[instance], record.trace.followers.removeValue(forKey: id) != nil else { return }
        if record.trace.followers.isEmpty { record.connection?.setTracing(false) }
    }

    /// A "trace" line from the instance's current driverhost.
    func relayTrace(_ dropped: UInt64, _ records: [TraceRecord], of record: InstanceRecord) {
        record.trace.droppedInDriverhost = dropped
        for id in record.trace.followers.keys {
            relay(TraceBatch(records: records, droppedInDriverhost: 0, droppedInHostd: 0), to: id, of: record)
        }
    }

    private func relay(_ batch: TraceBatch, to id: Int, of record: InstanceRecord) {
        guard var follower = record.trace.followers[id] else { return }
        var batch = batch
        batch.droppedInDriverhost = record.trace.droppedEarlier + record.trace.droppedInDriverhost
        batch.droppedInHostd = follower.droppedInHostd
        if case .dropped(let lost) = follower.continuation.yield(batch) {
            follower.droppedInHostd += UInt64(lost.records.count)
        }
        record.trace.followers[id] = follower
    }

    /// The instance's new driverhost has attached: trace it too if anyone follows.
    func resumeTrace(_ record: InstanceRecord) {
        guard !record.trace.followers.isEmpty else { return }
        record.trace.droppedEarlier += record.trace.droppedInDriverhost
        record.trace.droppedInDriverhost = 0
        record.connection?.setTracing(true)
    }

    /// At unload: followers see the end of the trace.
    func endTrace(of record: InstanceRecord) {
        for follower in record.trace.followers.values { follower.continuation.finish() }
        record.trace.followers.removeAll()
    }
}
