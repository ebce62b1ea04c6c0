import Glibc
import Logging

/// hostd's log under systemd: each record goes to the journal over its
/// native protocol with fields, not as a line of text, so that
/// `journalctl DRVHOST_INSTANCE=edu@0000:00:05.0` (or DRVHOST_PLUGIN=,
/// DRVHOST_DEVICE=, -p warning) finds what an operator looks for. Metadata
/// keys become DRVHOST_<KEY> fields; the source line is CODE_FILE/LINE/FUNC.
/// A record the journal does not take (journald stopped, too large) is
/// written to stderr as text instead, so nothing is lost.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let journal: Journal
    private let fallback: StreamLogHandler

    /// One socket for every logger of the process.
    public final class Journal: Sendable {
        let path: String
        let socket: UnixDatagramSocket?

        public init(path: String) {
            self.path = path
            socket = UnixDatagramSocket()
        }

        deinit { socket?.close() }

        func send(_ entry: [UInt8]) -> Bool {
            socket.map { $0.send(entry, to: path) == 0 } ?? false
        }
    }

    public init(label: String, journal: Journal) {
        self.label = label
        self.journal = journal
        fallback = StreamLogHandler.standardError(label: label)
    }

    public static let systemSocket = "/run/systemd/journal/socket"
    /// For tests only: a socket to send to whatever the environment says.
    public static let testSocketVariable = "DRVHOST_JOURNAL_SOCKET"

    /// Where to send, or nil for text on stderr. systemd sets JOURNAL_STREAM
    /// to the device and inode of the stderr it connected to the journal;
    /// hostd started by hand from such a service's shell has another stderr.
    public static func socketPath(environment: [String: String], stderrFD: Int32 = 2,
                                  systemSocket: String = systemSocket) -> String? {
        if let test = environment[testSocketVariable], !test.isEmpty { return test }
        guard let stream = environment["JOURNAL_STREAM"] else { return nil }
        var info = stat()
        guard fstat(stderrFD, &info) == 0, stream == "\(info.st_dev):\(info.st_ino)",
              access(systemSocket, W_OK) == 0 else { return nil }
        return systemSocket
    }

    /// The journal field a metadata key is sent as.
    public static func fieldName(forMetadataKey key: String) -> String { JournalFields.name(forMetadataKey: key) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(JournalFields.priority(event.level))),
            ("SYSLOG_IDENTIFIER", "hostd"),
            ("DRVHOST_LOGGER", label),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        if let error = event.error { fields.append(("DRVHOST_ERROR", "\(error)")) }
        for key in merged.keys.sorted() {
            fields.append((JournalFields.name(forMetadataKey: key), "\(merged[key]!)"))
        }
        if !journal.send(JournalFields.encode(fields)) {
            var text = event
            text.metadata = merged
            fallback.log(event: text)
        }
    }
}
