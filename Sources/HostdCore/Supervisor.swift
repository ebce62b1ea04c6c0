import DrvHostControl
import FoundationEssentials
import Logging
import TerminalText
import DrvHostProtocol

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

    /// Replaced by reload(_:) (SIGHUP), for what can change while running.
    var config: HostdConfig
    let logger: Logger
    /// Simulated devices first: their "sim:" addresses are never PCI's.
    let sources: [any DeviceSource]
    let reader: DescriptorReader
    var claimPolicy: DeviceClaimPolicy
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
    /// Descriptor reads at once: each is a child process and a thread.
    let describeGate = ConcurrencyGate(limit: 4)
    /// Bumped by every arrival or removal of a file: a read that a newer
    /// change overtook is dropped.
    var pluginGenerations: [String: Int] = [:]
    /// Devices whose instances an arrival stopped, to be driven again by
    /// the file's newest version (however many changes overtook each other).
    var devicesAwaitingPlugin: [String: Set<String>] = [:]
    /// Each instance's cgroup; nil where cgroup v2 cannot be used (then
    /// rlimits stand in). Set up by start().
    var cgroups: InstanceCgroups?
    var intent = OperatorIntent()
    let metricsExporter = HostdMetrics()
    let intentStore: OperatorIntentStore
    let driverhostRecords: DriverhostRecordStore
    /// Driverhosts the previous hostd recorded, until a plugin read at
    /// start claims their instance (Supervisor+Adoption).
    var adoptable: [String: DriverhostRecord] = [:]

    public init(config: HostdConfig, logger: Logger, reader: DescriptorReader? = nil) {
        self.config = config
        self.logger = logger
        sources = (config.simDirectory.map { [DevSimDeviceSource(directory: $0)] } ?? [])
            + (config.pciDevices ? [PCIDeviceSource(config: config)] : [])
        self.reader = reader ?? DescriptorReader(driverhostPath: config.driverhostPath)
        claimPolicy = DeviceClaimPolicy(claim: config.claim, ignore: config.ignore)
        bindingStore = BindingStore(directory: config.stateDirectory + "/bindings")
        intentStore = OperatorIntentStore(path: config.intentDirectory + "/intent.json")
        driverhostRecords = DriverhostRecordStore(directory: config.stateDirectory + "/driverhosts")
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
            throw StartError(description: "cannot create the state directory \(config.stateDirectory): \(error)")
        }
        bindings = bindingStore.loadAll()
        loadDriverhostRecords()
        switch intentStore.load() {
        case .success(let saved): intent = saved
        case .failure(let why): logger.error("starting without the operator's saved intent: \(why)")
        }
        if let mount = config.cgroupMount {
            switch InstanceCgroups.setUp(mount: mount, resources: config.resources) {
            case .success(let tree):
                cgroups = tree
                logger.info("instances get cgroups", metadata: ["under": "\(tree.base)"])
            case .failure(let why):
                logger.warning("instances are limited by rlimits only (memory, open files): \(why)")
            }
        }
        let watcher: PluginDirectoryWatcher
        do {
            watcher = try PluginDirectoryWatcher(directory: config.pluginDirectory)
        } catch {
            throw StartError(description: error.description)
        }
        self.watcher = watcher
        let files = (try? FileManager.default.contentsOfDirectory(atPath: config.pluginDirectory)) ?? []
        // Read side by side (bounded by describeGate): one plugin whose
        // constructor hangs must not hold up the others.
        await withTaskGroup(of: Void.self) { group in
            for file in files.sorted() where !file.hasPrefix(".") {
                group.addTask { await self.pluginArrived(file) }
            }
        }
        await retireUnclaimedDriverhosts()
        watchTask = Task {
            for await change in watcher.changes {
                switch change {
                case .arrived(let file): Task { await self.pluginArrived(file) }
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
            await restoreBinding(bdf)
        }
        logger.info("stopped: every instance unloaded, bindings restored")
    }

    /// Every change of an instance's state, from now on, in order: for
    /// tests and for anything that wants to follow instances without polling.
    /// (An unloaded instance is last seen in state `stopping`.)
    public func observe() -> AsyncStream<InstanceStatus> {
        observe(bufferingPolicy: .unbounded)
    }

    func observe(bufferingPolicy: AsyncStream<InstanceStatus>.Continuation.BufferingPolicy,
                 startingWith current: [InstanceStatus] = []) -> AsyncStream<InstanceStatus> {
        let (stream, continuation) = AsyncStream.makeStream(of: InstanceStatus.self, bufferingPolicy: bufferingPolicy)
        for status in current { continuation.yield(status) }
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

    /// A new or replaced file: its descriptor is read in a child while the
    /// old version's instances go on. Each instance the new version still
    /// drives, under the same plugin name, is upgraded by its machine (see
    /// upgrade(_:)); any other is unloaded, and its device is offered to
    /// the new version like the free ones.
    func pluginArrived(_ file: String) async {
        let generation = bumpGeneration(of: file)
        let reader = self.reader
        let path = pluginPath(file)
        let outcome = await describeGate.run {
            await onOwnThread("describe") { reader.read(path) }
        }
        // A newer change of the file (or its removal) came while this one
        // was read: that change decides, with its own read.
        guard pluginGenerations[file] == generation else { return }
        let old = plugins[file]
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
                logger.info("plugin available", metadata: ["file": "\(file)", "name": "\(TerminalText.escape(d.name))",
                                                         "version": "\(TerminalText.escape(d.version))"])
            }
        }
        plugins[file] = entry
        let devices = scanAll()
        var leaving: [InstanceRecord] = []
        for record in instances.values where record.pluginFile == file && !record.machine.isLeaving {
            if let d = entry.description, d.name == record.pluginName,
               let device = devices.first(where: { $0.bdf == record.device }), d.drives(device) {
                upgrade(record)
            } else {
                leaving.append(record)
                devicesAwaitingPlugin[file, default: []].insert(record.device)
            }
        }
        for record in leaving {
            await unload(record, restoring: false)
        }
        // A newer change came while those stopped: it offers their devices.
        guard pluginGenerations[file] == generation else { return }
        let oldDevices = devicesAwaitingPlugin.removeValue(forKey: file) ?? []
        if let d = entry.description {
            // Devices the old version had under another name, those the
            // operator loaded (before a restart of hostd too); then, with
            // autoload (or once loaded), the free devices the operator did
            // not unload it from.
            let autoload = entry.loaded || (config.autoload && !intent.unloadedPlugins.contains(file))
            // (Scanned again if some stopped: their bindings are what decides.)
            let targets = (leaving.isEmpty ? devices : scanAll()).filter { device in
                let name = InstanceRecord.name(plugin: d.name, device: device.bdf)
                return d.drives(device) && (oldDevices.contains(device.bdf)
                    || (intent.loadedInstances.contains(name) && isFreeForAutoload(device, byOperator: true))
                    || (autoload && intent.allowsAutoload(file: file, instance: name) && isFreeForAutoload(device)))
            }
            if autoload || !targets.isEmpty {
                plugins[file]?.loaded = true
                _ = await start(entry.file, d, on: targets)
            }
        }
        for bdf in oldDevices where !instances.values.contains(where: { $0.device == bdf }) {
            await restoreBinding(bdf)
        }
    }

    /// The instance's plugin file was replaced by a version that still
    /// drives its device: its machine stops the driverhost and starts one
    /// on the new file once the kernel has released the device, with its
    /// history, and its class device (a mounted disk, an interface with
    /// its addresses), kept, as after a crash but not counted as one.
    func upgrade(_ record: InstanceRecord) {
        // Started on this very file already (restarted since it was written).
        if let loaded = record.pluginAtStart, record.connection != nil,
           loaded == PluginFileIdentity(path: pluginPath(record.pluginFile)) { return }
        logger.info("plugin file replaced: the instance restarts on it", metadata: ["instance": "\(record.name)"])
        // A standby on the new file loads it while the old version still
        // runs: the upgrade's outage is then a crash's, not a cold start's.
        retireStandby(record)
        spawnStandby(record)
        drive(record, .pluginFileChanged)
    }

    @discardableResult
    func bumpGeneration(of file: String) -> Int {
        let next = (pluginGenerations[file] ?? 0) + 1
        pluginGenerations[file] = next
        return next
    }

    func pluginRemoved(_ file: String) async {
        bumpGeneration(of: file)
        // The operator's unload was about this file; one dropped in later
        // under the same name is a new plugin, autoloaded as any other.
        if intent.unloadedPlugins.remove(file) != nil { saveIntent() }
        let awaiting = devicesAwaitingPlugin.removeValue(forKey: file) ?? []
        for bdf in awaiting where !instances.values.contains(where: { $0.device == bdf }) {
            await restoreBinding(bdf)
        }
        guard plugins.removeValue(forKey: file) != nil else { return }
        logger.info("plugin removed", metadata: ["file": "\(file)"])
        for record in instances.values where record.pluginFile == file {
            await unload(record)
        }
    }

    /// `byOperator`: the operator named the device before (hostctl load):
    /// it may be taken from a kernel driver as then, unless now ignored.
    func isFreeForAutoload(_ device: DeviceRow, byOperator: Bool = false) -> Bool {
        let verdict = claimPolicy.verdict(for: device)
        let allowed = verdict == .take || (byOperator && !claimPolicy.ignore.contains(device.bdf))
        return allowed && !instances.values.contains { $0.device == device.bdf }
    }

    /// After every change of the operator's intent or an instance's history.
    func saveIntent() {
        do {
            try intentStore.save(intent)
        } catch {
            logger.error("the operator's intent is not saved: \(error)")
        }
    }

    // MARK: Devices and bindings

    /// The source an address belongs to; nil for text no source accepts.
    func source(for address: String) -> (any DeviceSource)? {
        sources.first { $0.address(address) != nil }
    }

    /// Every device of every source that answers; one that cannot be
    /// listed is logged and left out, so the others still work.
    func scanAll() -> [DeviceRow] {
        sources.flatMap { source in
            do {
                return try source.scan()
            } catch {
                logger.warning("devices not listed", metadata: ["reason": "\(error)"])
                return []
            }
        }
    }

    /// Binds the device to drvproxy on the binding worker (SerialWorker):
    /// the kernel may block the unbind of its driver for as long as the
    /// device is held, and meanwhile the supervisor answers everything else.
    func claimDevice(_ bdf: String) async throws(ControlError) {
        guard bindings[bdf] == nil else { return }
        guard let source = source(for: bdf) else { throw ControlError(.notFound, "no device source handles \(bdf)") }
        let outcome = await SerialWorker.bindings.run { Result { () throws(DeviceSourceError) in try source.claim(bdf) } }
        let previous: DeviceBinder.Previous?
        switch outcome {
        case .success(let p): previous = p
        case .failure(let error): throw ControlError(.failed, error.description)
        }
        guard let previous else { return }  // nothing to put back later
        bindings[bdf] = previous
        bindingStore.save(bdf, previous)
        logger.info("device bound to drvproxy", metadata: ["device": "\(bdf)", "previous": "\(previous.driver ?? "none")"])
    }

    /// Puts the device back on its previous driver, on the binding worker
    /// (after any claim given before, so the two never interleave).
    func restoreBinding(_ bdf: String) async {
        guard let previous = bindings.removeValue(forKey: bdf) else { return }
        guard let source = source(for: bdf) else {
            // Kept in the state directory for a hostd that handles PCI again.
            logger.error("device not restored: real PCI devices are off (pci = false)", metadata: ["device": "\(bdf)"])
            return
        }
        let problems = await SerialWorker.bindings.run { source.restore(bdf, previous) }
        bindingStore.remove(bdf)
        if problems.isEmpty {
            logger.info("device restored", metadata: ["device": "\(bdf)", "driver": "\(previous.driver ?? "none")"])
        } else {
            logger.error("device not fully restored", metadata: ["device": "\(bdf)", "problems": "\(problems.joined(separator: "; "))"])
        }
    }
}
