import FoundationEssentials

/// What the operator said, and each instance's history, kept on disk so that
/// a restart of hostd (or of the machine) changes none of it: an unloaded
/// plugin or instance stays unloaded (autoload and a replaced plugin file
/// pass it by), a plugin loaded by hand is loaded again, and restart counts
/// and last exits go on. One JSON file, replaced atomically on each change.
struct OperatorIntent: Codable, Equatable {
    struct History: Codable, Equatable {
        var restarts: UInt32 = 0
        var lastExit: String?
    }

    /// Instances ("plugin@device") started by `hostctl load`: started again
    /// when hostd starts, autoload or not.
    var loadedInstances: Set<String> = []
    /// Plugin files unloaded by `hostctl unload PLUGIN`: not autoloaded
    /// (nor spread by a replaced file) until loaded by hand again or
    /// removed from the plugin directory.
    var unloadedPlugins: Set<String> = []
    /// Instances ("plugin@device") unloaded by `hostctl unload INSTANCE`:
    /// that plugin is not autoloaded onto that device again.
    var unloadedInstances: Set<String> = []
    var history: [String: History] = [:]

    func allowsAutoload(file: String, instance: String) -> Bool {
        !unloadedPlugins.contains(file) && !unloadedInstances.contains(instance)
    }

    mutating func loaded(file: String, instances: [String]) {
        unloadedPlugins.remove(file)
        loadedInstances.formUnion(instances)
        unloadedInstances.subtract(instances)
    }

    mutating func unloaded(file: String, instances: [String]) {
        unloadedPlugins.insert(file)
        loadedInstances.subtract(instances)
    }

    mutating func unloaded(instance: String) {
        unloadedInstances.insert(instance)
        loadedInstances.remove(instance)
    }
}

/// The file behind OperatorIntent.
struct OperatorIntentStore {
    let path: String

    /// The saved intent; an empty one if there is none yet, or the reason
    /// it cannot be read (then hostd starts with none and says so).
    func load() -> Result<OperatorIntent, IntentError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return FileManager.default.fileExists(atPath: path)
                ? .failure(IntentError("cannot read \(path)")) : .success(OperatorIntent())
        }
        do {
            return .success(try JSONDecoder().decode(OperatorIntent.self, from: data))
        } catch {
            return .failure(IntentError("\(path) is not a saved intent: \(error)"))
        }
    }

    /// Written to a temporary file renamed over the old one (.atomic), so
    /// that a crash or power loss leaves the old intent or the new, whole.
    func save(_ intent: OperatorIntent) throws(IntentError) {
        do {
            try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                    withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(intent).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw IntentError("cannot write \(path): \(error)")
        }
    }

    struct IntentError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
