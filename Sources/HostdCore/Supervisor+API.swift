import DrvHostControl
import FoundationEssentials
import Glibc
import DrvHostProtocol

/// What the control socket (and hostctl through it) can ask.
extension Supervisor: SupervisorAPI {
    public func load(plugin: String, device: String?) async throws(ControlError) -> [InstanceStatus] {
        let entry = try findPlugin(plugin)
        guard let description = entry.description else {
            throw ControlError(.conflict, "plugin \(entry.file) was refused: \(refusal(entry) ?? "unknown reason")")
        }
        let targets: [DeviceRow]
        if let device {
            guard let source = source(for: device), let bdf = source.address(device) else {
                if !config.pciDevices && PCIAddress.normalized(device) != nil {
                    throw ControlError(.conflict, "\(device) is a PCI device and this hostd drives none (pci = false)")
                }
                throw ControlError(.notFound, "no device \(device): not a PCI address like 0000:00:05.0"
                                   + (config.simDirectory == nil ? "" : " or a simulated device like sim:edu0"))
            }
            let devices: [DeviceRow]
            do {
                devices = try source.scan()
            } catch {
                throw ControlError(.failed, error.description)
            }
            guard let row = devices.first(where: { $0.bdf == bdf }) else {
                throw ControlError(.notFound, "no \(source.kind) \(device)")
            }
            guard description.drives(row) else {
                throw ControlError(.conflict, "plugin \(description.name) does not drive \(bdf) (\(hex(row.vendor)):\(hex(row.device)))")
            }
            if claimPolicy.ignore.contains(bdf) { throw ControlError(.conflict, "\(bdf) is in devices.ignore") }
            if let other = instances.values.first(where: { $0.device == bdf }) {
                throw ControlError(.conflict, "\(bdf) is already driven by \(other.name)")
            }
            targets = [row]  // named explicitly: taken even from another kernel driver
        } else {
            targets = scanAll().filter { description.drives($0) && isFreeForAutoload($0) }
            guard !targets.isEmpty else {
                throw ControlError(.notFound, "no free device matches plugin \(description.name)")
            }
        }
        plugins[entry.file]?.loaded = true
        let started = await start(entry.file, description, on: targets)
        intent.loaded(file: entry.file, instances: started.map(\.name))
        saveIntent()
        return started
    }

    public func unload(_ target: String) async throws(ControlError) -> [String] {
        let records: [InstanceRecord]
        if let record = instances[target] ?? instances[Self.fullInstanceName(target)] {
            records = [record]
            intent.unloaded(instance: record.name)
        } else {
            let entry = try findPlugin(target)
            plugins[entry.file]?.loaded = false
            records = instances.values.filter { $0.pluginFile == entry.file }
            intent.unloaded(file: entry.file, instances: records.map(\.name))
        }
        saveIntent()
        for record in records {
            await unload(record)
        }
        return records.map(\.name).sorted()
    }

    public func plugins() async -> [PluginRow] {
        plugins.values.sorted { $0.file < $1.file }.map { entry in
            let names = instances.values.filter { $0.pluginFile == entry.file }.map(\.name).sorted()
            let state: PluginRow.State = entry.description == nil ? .refused : names.isEmpty ? .available : .loaded
            return PluginRow(file: entry.file, name: entry.description?.name, version: entry.description?.version,
                             state: state, refusal: refusal(entry), instances: names)
        }
    }

    public func devices() async -> [DeviceRow] {
        scanAll().map { row in
            var row = row
            row.instance = instances.values.first { $0.device == row.bdf }?.name
            row.details?.previousDriver = bindings[row.bdf]?.driver
            return row
        }
    }

    public func instances() async -> [InstanceStatus] {
        instances.values.sorted { $0.name < $1.name }.map(status)
    }

    public func watch(buffer: Int) async -> AsyncStream<InstanceStatus> {
        observe(bufferingPolicy: .bufferingNewest(buffer), startingWith: await instances())
    }

    public func metrics() async -> String {
        metricsExporter.render(await instances())
    }

    public func status(_ instance: String) async throws(ControlError) -> InstanceStatus {
        status(try findInstance(instance))
    }

    /// Stops the current driverhost (if any) and starts a fresh one with
    /// the crash history cleared: also the way out of `failed`.
    public func restart(_ instance: String) async throws(ControlError) -> InstanceStatus {
        let record = try findInstance(instance)
        let generation = record.generation
        drive(record, .restartRequested)
        // Through the stop and the kernel's release, until the new
        // driverhost attaches or ends (each exit, attach and failure wakes
        // the waiters).
        while instances[record.name] === record {
            let launched = record.generation != generation
            if launched ? record.state != .starting : record.state == .failed { break }
            await withCheckedContinuation { record.attachWaiters.append($0) }
        }
        guard instances[record.name] === record else { throw ControlError(.notFound, "\(instance) was unloaded meanwhile") }
        return status(record)
    }

    public func call(_ instance: String, command: String, arguments: [String]) async throws(ControlError) -> String {
        let record = try findInstance(instance)
        guard record.state == .running, let connection = record.connection else {
            throw ControlError(.conflict, "\(record.name) is \(record.state.rawValue), not running")
        }
        record.nextCallID += 1
        let id = String(record.nextCallID)
        do {
            return try await withCheckedThrowingContinuation { continuation in
                record.pendingCalls[id] = continuation
                if !connection.requestCall(id: id, command: command, arguments: arguments) {
                    record.pendingCalls.removeValue(forKey: id)
                    continuation.resume(throwing: ControlError(.failed, "\(record.name): driverhost is not listening"))
                }
            }
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError(.failed, "\(error)")
        }
    }

    // MARK: Lookups

    func findPlugin(_ name: String) throws(ControlError) -> PluginEntry {
        if let entry = plugins[name] ?? plugins[name + ".so"] { return entry }
        if let entry = plugins.values.first(where: { $0.description?.name == name }) { return entry }
        throw ControlError(.notFound, "no plugin \(name) in \(config.pluginDirectory)")
    }

    func findInstance(_ name: String) throws(ControlError) -> InstanceRecord {
        guard let record = instances[name] ?? instances[Self.fullInstanceName(name)] else {
            throw ControlError(.notFound, "no instance \(name)")
        }
        return record
    }

    /// "edu@00:05.0" names "edu@0000:00:05.0": short addresses work
    /// wherever full ones do.
    public static func fullInstanceName(_ name: String) -> String {
        guard let at = name.lastIndex(of: "@"),
              let bdf = PCIAddress.normalized(String(name[name.index(after: at)...])) else { return name }
        return String(name[..<at]) + "@" + bdf
    }

    func refusal(_ entry: PluginEntry) -> String? {
        if case .refused(let why) = entry.outcome { return why }
        return nil
    }

    private func hex(_ value: UInt16) -> String { PCIAddress.hex(UInt64(value), 4) }
}
