/// SIGHUP: the configuration file is read again. What shapes decisions from
/// now on takes effect at once: restart policy, limits and liveness (for
/// the next driverhost of each instance), claim and ignore, autoload. What
/// hostd set up at start (socket, directories, driverhost, device sources,
/// cgroups, metrics address) keeps its old value, and the log says which of
/// those changed and need a restart of hostd.
extension Supervisor {
    typealias Keep = @Sendable (_ new: inout HostdConfig, _ old: HostdConfig) -> Bool

    /// Puts the old value back into `new`; true if the file had changed it.
    static func keep<T: Equatable & Sendable>(_ path: WritableKeyPath<HostdConfig, T> & Sendable) -> Keep {
        { new, old in
            defer { new[keyPath: path] = old[keyPath: path] }
            return new[keyPath: path] != old[keyPath: path]
        }
    }

    /// Settings that only a restart of hostd changes, as the file names them.
    static let startOnlySettings: [(String, Keep)] = [
        ("socket", keep(\.socketPath)), ("group", keep(\.socketGroup)), ("plugin_dir", keep(\.pluginDirectory)),
        ("state_dir", keep(\.stateDirectory)), ("intent_dir", keep(\.intentDirectory)),
        ("driverhost", keep(\.driverhostPath)), ("sysfs", keep(\.sysfsRoot)), ("dev_dir", keep(\.deviceDirectory)),
        ("pci", keep(\.pciDevices)), ("pci_dump", keep(\.pciDump)), ("pci_ids", keep(\.pciIDs)),
        ("sim_dir", keep(\.simDirectory)), ("metrics_listen", keep(\.metricsListen)), ("instance.cgroup", keep(\.cgroupMount)),
    ]

    /// Applies `new`; returns the settings that changed but need a restart.
    @discardableResult
    public func reload(_ new: HostdConfig) -> [String] {
        var applied = new
        let needRestart = Supervisor.startOnlySettings.filter { $0.1(&applied, config) }.map(\.0)
        config = applied
        claimPolicy = DeviceClaimPolicy(claim: applied.claim, ignore: applied.ignore)
        // New limits start a new crash count; unchanged ones keep it.
        for record in instances.values {
            if record.machine.policy.limits != applied.restart { record.machine.replace(limits: applied.restart) }
            record.machine.bounds = machineBounds
            armTimer(record)
        }
        cgroups?.resources = applied.resources
        logger.info("configuration reloaded", metadata: needRestart.isEmpty ? [:]
            : ["unchanged until hostd restarts": "\(needRestart.joined(separator: ", "))"])
        return needRestart
    }
}
