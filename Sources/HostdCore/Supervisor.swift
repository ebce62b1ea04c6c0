import DrvHostControl
import Foundation
import Logging

/// hostd's state and decisions: which plugins are in the directory and what
/// they declare, which devices they drive, one driverhost per instance and
/// what to do when one ends. An actor: the control socket, the directory
/// watcher and the driverhost watchers all come in through its mailbox.
public actor Supervisor {
    struct PluginEntry {
        var file: String
        var outcome: DescriptorReader.Outcome
        /// Loaded by the user or by autoload; reloaded when the file changes.
        var loaded: Bool

        var description: PluginDescription? {
            if case .described(let d) = outcome { return d }
            return nil
        }
    }

    let config: HostdConfig
    let logger: Logger
    let sysfs: Sysfs
    let binder: DeviceBinder
    let scanner: PCIScanner
    let reader: DescriptorReader
    let claimPolicy: DeviceClaimPolicy
    let bindingStore: BindingStore
    let clock = ContinuousClock()
    let epoch: ContinuousClock.Instant

    var plugins: [String: PluginEntry] = [:]
    var instances: [String: InstanceRecord] = [:]
    /// Devices hostd moved to drvproxy, with what they had before.
    var bindings: [String: DeviceBinder.Previous] = [:]
    var watcher: PluginDirectoryWatcher?
    var watchTask: Task<Void, Never>?
    var observers: [Int: AsyncStream<InstanceStatus>.Continuation] = [:]
    var nextObserver = 0

    public init(config: HostdConfig, logger: Logger, reader: DescriptorReader? = nil) {
        self.config = config
        self.logger = logger
        sysfs = Sysfs(root: config.sysfsRoot)
        binder = DeviceBinder(sysfs: sysfs)
        scanner = PCIScanner(dumpFile: config.pciDump, idsFile: config.pciIDs, sysfs: sysfs)
        self.reader = reader ?? DescriptorReader(driverhostPath: config.driverhostPath)
        claimPolicy = DeviceClaimPolicy(claim: config.claim, ignore: config.ignore)
        bindingStore = BindingStore(directory: config.stateDirectory + "/bindings")
        epoch = clock.now
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads every plugin in the directory (autoloading them if configured)
    /// and starts watching it.
    public func start() async throws(StartError) {
        do {
            try FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw StartError(description: "cannot create the state directory \(config.stateDirectory): \(error.localizedDescription)")
        }
        bindings = bindingStore.loadAll()
        let watcher: PluginDirectoryWatcher
        do {
            watcher = try PluginDirectoryWatcher(directory: config.pluginDirectory)
        } catch {
            throw StartError(description: error.description)
        }
        self.watcher = watcher
        let files = (try? FileManager.default.contentsOfDirectory(atPath: config.pluginDirectory)) ?? []
        for file in files.sorted() where !file.hasPrefix(".") {
            await pluginArrived(file)
        }
        watchTask = Task {
            for await change in watcher.changes {
                switch change {
                case .arrived(let file): await self.pluginArrived(file)
                case .removed(let file): await self.pluginRemoved(file)
                }
            }
        }
        logger.info("started", metadata: ["plugins": "\(plugins.count)", "instances": "\(instances.count)"])
    }

    /// Unloads everything and puts every device back on its previous driver.
    public func shutdown() async {
        watcher?.stop()
        watchTask?.cancel()
        for record in Array(instances.values) {
            await unload(record)
        }
        for bdf in Array(bindings.keys) {
            restoreBinding(bdf)
        }
        logger.info("stopped: every instance unloaded, bindings restored")
    }

    /// Every change of an instance's state, from now on, in order: for
    /// tests and for anything that wants to follow instances without polling.
    /// (An unloaded instance is last seen in state `stopping`.)
    public func observe() -> AsyncStream<InstanceStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: InstanceStatus.self)
        let id = nextObserver
        nextObserver += 1
        observers[id] = continuation
        continuation.onTermination = { _ in Task { await self.forget(observer: id) } }
        return stream
    }

    private func forget(observer id: Int) {
        observers.removeValue(forKey: id)
    }

    func publish(_ record: InstanceRecord) {
        guard !observers.isEmpty else { return }
        let now = status(record)
        for continuation in observers.values { continuation.yield(now) }
    }

    var nowMs: Int64 {
        let elapsed = clock.now - epoch
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    // MARK: The plugin directory

    func pluginPath(_ file: String) -> String { "\(config.pluginDirectory)/\(file)" }

    /// A new or replaced file: read its descriptor in a child; instances of
    /// the old version stop and, if the new one is good, restart on it.
    func pluginArrived(_ file: String) async {
        let old = plugins[file]
        let oldRecords = instances.values.filter { $0.pluginFile == file }
        let oldDevices = oldRecords.map(\.device)
        for record in oldRecords {
            await unload(record, restoring: false)
        }
        let reader = self.reader
        let path = pluginPath(file)
        let outcome = await Task.detached { reader.read(path) }.value
        var entry = PluginEntry(file: file, outcome: outcome, loaded: old?.loaded ?? false)
        switch outcome {
        case .refused(let why):
            logger.warning("plugin refused", metadata: ["file": "\(file)", "reason": "\(why)"])
            entry.loaded = false
        case .described(let d):
            if let other = plugins.values.first(where: { $0.file != file && $0.description?.name == d.name }) {
                entry.outcome = .refused("another file, \(other.file), already provides plugin \(d.name)")
                entry.loaded = false
            } else {
                logger.info("plugin available", metadata: ["file": "\(file)", "name": "\(d.name)", "version": "\(d.version)"])
            }
        }
        plugins[file] = entry
        if let d = entry.description, entry.loaded || config.autoload {
            plugins[file]?.loaded = true
            let devices = (try? scanner.scan()) ?? []
            let targets = devices.filter { device in
                d.drives(device) && (oldDevices.contains(device.bdf) || isFreeForAutoload(device))
            }
            _ = await start(entry.file, d, on: targets)
        }
        for bdf in oldDevices where !instances.values.contains(where: { $0.device == bdf }) {
            restoreBinding(bdf)
        }
    }

    func pluginRemoved(_ file: String) async {
        guard plugins.removeValue(forKey: file) != nil else { return }
        logger.info("plugin removed", metadata: ["file": "\(file)"])
        for record in instances.values where record.pluginFile == file {
            await unload(record)
        }
    }

    func isFreeForAutoload(_ device: DeviceRow) -> Bool {
        claimPolicy.verdict(for: device) == .take && !instances.values.contains { $0.device == device.bdf }
    }

    // MARK: Bindings

    func claimDevice(_ bdf: String) throws(ControlError) {
        guard bindings[bdf] == nil else { return }
        do {
            let previous = try binder.bindToDrvproxy(bdf)
            bindings[bdf] = previous
            bindingStore.save(bdf, previous)
            logger.info("device bound to drvproxy", metadata: ["device": "\(bdf)", "previous": "\(previous.driver ?? "none")"])
        } catch {
            throw ControlError(.failed, "cannot bind \(bdf) to drvproxy: \(error)")
        }
    }

    func restoreBinding(_ bdf: String) {
        guard let previous = bindings.removeValue(forKey: bdf) else { return }
        let problems = binder.restore(bdf, previous)
        bindingStore.remove(bdf)
        if problems.isEmpty {
            logger.info("device restored", metadata: ["device": "\(bdf)", "driver": "\(previous.driver ?? "none")"])
        } else {
            logger.error("device not fully restored", metadata: ["device": "\(bdf)", "problems": "\(problems.joined(separator: "; "))"])
        }
    }
}
