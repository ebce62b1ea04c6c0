import FoundationEssentials
import Glibc
import DrvHostProtocol
import DrvHostSystem

/// What hostd keeps in its runtime state directory about each running
/// driverhost, so that the next hostd (after a crash or kill -9 of this one)
/// can adopt it instead of starting another: which process (pid and start
/// time: together they name one process, never a later one with a reused
/// pid), which instance, and where it listens for the next hostd.
struct DriverhostRecord: Codable, Equatable {
    var instance: String
    var pluginFile: String
    var plugin: String
    var device: String
    var pid: Int32
    /// /proc/PID/stat field 22, read when the process was started.
    var startTime: UInt64
    var socket: String
    var classKind: String?
    var className: String?
    /// drvproxy's releases counter when it started: how the next hostd
    /// knows the kernel released the device if this driverhost dies.
    var releasesAtStart: UInt64?
    /// The plugin file it loaded (PluginFileIdentity.text): a file changed
    /// while no hostd was there is an upgrade the next hostd carries out.
    var pluginFileID: String?

    var classDevice: ClassDevice? {
        guard let classKind, let className else { return nil }
        return ClassDevice(kind: classKind, name: className)
    }
}

/// The records, one JSON file per instance in `<state_dir>/driverhosts/`
/// next to the driverhosts' sockets. A record exists while its driverhost
/// is believed alive: written when it starts (or is adopted), removed when
/// hostd sees it end.
struct DriverhostRecordStore {
    let directory: String

    private func path(_ instance: String) -> String { "\(directory)/\(instance).json" }

    /// Where a new driverhost listens: short (a unix socket path has 108
    /// bytes at most) and never reused while an earlier one may be alive.
    func newSocketPath() -> String {
        DriverhostRecordStore.counter += 1
        return "\(directory)/\(getpid())-\(DriverhostRecordStore.counter).sock"
    }

    nonisolated(unsafe) private static var counter = 0

    func prepare() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    /// Written whole to a temporary file renamed over the old record, so a
    /// reader (the next hostd) sees the old record or the new. Without
    /// fsync: a record is written at every driverhost start (every restart),
    /// only has to outlive hostd, which the page cache does, and means
    /// nothing after a reboot (the runtime directory is emptied then).
    func save(_ record: DriverhostRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = try encoder.encode(record)
        let final = path(record.instance)
        let temporary = final + ".new"
        let file = try Descriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                done += try file.write(UnsafeRawBufferPointer(rebasing: buffer[done...]))
            }
        }
        file.close()
        _ = try systemCall("rename") { rename(temporary, final) }
    }

    func remove(_ instance: String) {
        unlink(path(instance))
    }

    /// Every readable record; a file that is not one is reported and removed.
    func loadAll(problems: (String) -> Void) -> [String: DriverhostRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var out: [String: DriverhostRecord] = [:]
        for name in names where name.hasSuffix(".json") {
            let file = "\(directory)/\(name)"
            guard let data = FileManager.default.contents(atPath: file),
                  let record = try? JSONDecoder().decode(DriverhostRecord.self, from: data) else {
                problems("\(file) is not a driverhost record; removed")
                unlink(file)
                continue
            }
            out[record.instance] = record
        }
        return out
    }

    /// Sockets no record names: left by driverhosts that ended while no
    /// hostd was there to remove them (standbys exit when hostd goes).
    func removeStaleSockets(keeping records: some Collection<DriverhostRecord>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let kept = Set(records.map(\.socket))
        for name in names where name.hasSuffix(".sock") && !kept.contains("\(directory)/\(name)") {
            unlink("\(directory)/\(name)")
        }
    }
}
