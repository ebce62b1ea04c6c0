import DrvHostControl
import Logging
import TerminalText

/// Each instance's own log: what its driverhosts (and their plugins,
/// through log()) write to stderr, kept in a bounded ring per instance for
/// `hostctl logs`, and passed on to hostd's log (the journal under systemd)
/// with the instance as metadata, so there is one log format for both.
extension Supervisor {
    func appendLog(_ line: String, to record: InstanceRecord) {
        record.log.append(line)
        logger.log(level: Self.level(of: line), "\(TerminalText.escape(line))",
                   metadata: ["instance": "\(record.name)", "plugin": "\(record.pluginName)",
                             "device": "\(record.device)", "source": "driverhost"])
        for follower in record.logFollowers.values { follower.yield(line) }
    }

    /// driverhost's lines say their level after the prefix
    /// ("driverhost[0000:00:05.0]: warning: ..."); others are notices.
    static func level(of line: String) -> Logger.Level {
        let words = line.split(separator: " ", maxSplits: 2)
        guard words.count >= 2 else { return .notice }
        switch words[1] {
        case "error:", "watchdog:": return .error
        case "warning:": return .warning
        case "info:": return .info
        case "debug:": return .debug
        default: return .notice
        }
    }

    /// The instance's last `lines` log lines; with `follow`, then every new
    /// one until the instance is unloaded or the reader goes away.
    public func logs(_ instance: String, lines: Int, follow: Bool) async throws(ControlError) -> AsyncStream<String> {
        let record = try findInstance(instance)
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .bufferingNewest(LogRing.capacity))
        for line in record.log.last(lines) { continuation.yield(line) }
        guard follow else {
            continuation.finish()
            return stream
        }
        let id = nextObserver
        nextObserver += 1
        record.logFollowers[id] = continuation
        let name = record.name
        continuation.onTermination = { _ in Task { await self.stopFollowing(name, id) } }
        return stream
    }

    private func stopFollowing(_ instance: String, _ id: Int) {
        instances[instance]?.logFollowers.removeValue(forKey: id)
    }

    /// At unload: followers see the end of the log.
    func endLogs(of record: InstanceRecord) {
        for follower in record.logFollowers.values { follower.finish() }
        record.logFollowers.removeAll()
    }
}
