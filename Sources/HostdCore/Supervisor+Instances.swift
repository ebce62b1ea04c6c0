import DrvHostControl
import FoundationEssentials
import Glibc
import Logging
import TerminalText

/// Instances: start, watch, restart after the kernel's release, stop.
extension Supervisor {
    /// Binds each device to drvproxy and starts one driverhost on it;
    /// returns once each has attached or ended.
    func start(_ file: String, _ plugin: PluginDescription, on devices: [DeviceRow]) async -> [InstanceStatus] {
        var started: [InstanceRecord] = []
        for device in devices {
            let name = InstanceRecord.name(plugin: plugin.name, device: device.bdf)
            guard instances[name] == nil else { continue }
            let record = InstanceRecord(name: name, pluginFile: file, pluginName: plugin.name,
                                        device: device.bdf, limits: config.restart)
            // Its history goes on across hostd's restarts.
            if let history = intent.history[name] {
                record.restarts = history.restarts
                record.lastExit = history.lastExit
            }
            // The previous hostd's driverhost, still serving the device.
            instances[name] = record
            if await adoptRecorded(record) {
                if record.state == .starting { started.append(record) }
                continue
            }
            instances[name] = nil
            do {
                try claimDevice(device.bdf)
            } catch {
                record.state = .failed
                record.failure = error.message
                instances[name] = record
                logger.error("instance failed", metadata: ["instance": "\(name)", "reason": "\(error.message)"])
                continue
            }
            instances[name] = record
            launch(record)
            started.append(record)
        }
        for record in started where record.state == .starting {
            await withCheckedContinuation { record.attachWaiters.append($0) }
        }
        return started.map(status)
    }

    /// Starts the next driverhost of an instance: the warm standby if one
    /// is waiting, else a new process.
    func launch(_ record: InstanceRecord) {
        record.generation += 1
        record.releasesAtStart = source(for: record.device)?.counters(record.device).releases
        let connection: DriverhostConnection
        let warm: Bool
        if let standby = record.standby, standby.requestStart(restartCount: record.restarts, classDevice: record.classDevice) {
            record.standby = nil
            connection = standby
            warm = true
        } else {
            // A standby that cannot take the start has died; its exit is
            // ignored once it is no longer the record's standby.
            record.standby = nil
            do {
                connection = try spawnDriverhost(record, standby: false)
            } catch {
                fail(record, "cannot start driverhost: \(error)")
                return
            }
            warm = false
        }
        record.connection = connection
        record.classCounters = nil
        record.state = .starting
        record.endReason = nil
        record.oomKillsAtStart = cgroups?.oomKills(record.name) ?? 0
        record.pluginAtStart = PluginFileIdentity(path: pluginPath(record.pluginFile))
        recordDriverhost(record)
        watch(record, connection)
        publish(record)
        logger.info("driverhost started", metadata: ["instance": "\(record.name)", "pid": "\(connection.process.pid)",
                                                     "restart": "\(record.restarts)", "standby": "\(warm)",
                                                     "releases": "\(record.releasesAtStart.map(String.init) ?? "-")"])
    }

    /// A new driverhost process whose events come to handle(_:of:from:).
    /// With `standby` it loads the plugin and waits for "start".
    private func spawnDriverhost(_ record: InstanceRecord, standby: Bool) throws(ChildProcess.SpawnError) -> DriverhostConnection {
        let arguments = ["--device", record.device, "--plugin", pluginPath(record.pluginFile),
                         "--state-file", "\(config.stateDirectory)/\(record.name)",
                         "--max-callback-ms", "\(config.limits.maxCallbackMs)",
                         "--max-attach-ms", "\(config.limits.maxAttachMs)"]
            + (config.netInterfaceName.map { ["--net-name", $0] } ?? [])
            + (standby ? ["--standby"] : ["--restart-count", "\(record.restarts)"])
            + (standby ? [] : record.classDevice.map { ["--class-device", "\($0.kind):\($0.name)"] } ?? [])
        var confinement = ChildProcess.Confinement(openFiles: UInt64(config.resources.openFiles))
        if let cgroups {
            do {
                confinement.cgroupProcsFD = try cgroups.prepare(record.name)
            } catch {
                throw ChildProcess.SpawnError(description: error.description)
            }
        } else {
            confinement.dataBytes = config.resources.memoryBytes
        }
        defer { if confinement.cgroupProcsFD >= 0 { close(confinement.cgroupProcsFD) } }
        // Every driverhost may outlive hostd and be adopted by the next
        // (the standby too: it may be the instance's driverhost by then).
        let connection = try DriverhostConnection(driverhost: config.driverhostPath, arguments: arguments,
                                                  environment: source(for: record.device)?.driverhostEnvironment ?? [:],
                                                  confinement: confinement, socketPath: driverhostRecords.newSocketPath())
        follow(connection, of: record)
        return connection
    }

    /// Hands the driverhost's events, in order, to handle(_:of:from:).
    func follow(_ connection: DriverhostConnection, of record: InstanceRecord) {
        Task {
            for await event in connection.events {
                self.handle(event, of: record, from: connection)
            }
        }
    }

    /// Keeps a standby ready for the instance's next restart (after an
    /// attach, so that it never competes with a start for the CPU).
    private func spawnStandby(_ record: InstanceRecord) {
        guard config.warmStandby, record.standby == nil, record.state == .running else { return }
        do {
            let standby = try spawnDriverhost(record, standby: true)
            record.standby = standby
            logger.debug("standby driverhost started", metadata: ["instance": "\(record.name)", "pid": "\(standby.process.pid)"])
        } catch {
            logger.warning("cannot start a standby driverhost", metadata: ["instance": "\(record.name)", "reason": "\(error)"])
        }
    }

    /// Lets the standby go ("stop": it exits without touching the device);
    /// returns it so that the caller may wait for its exit.
    @discardableResult
    func retireStandby(_ record: InstanceRecord) -> DriverhostConnection? {
        guard let standby = record.standby else { return nil }
        record.standby = nil
        standby.requestStop()
        return standby
    }

    func handle(_ event: DriverhostConnection.Event, of record: InstanceRecord, from connection: DriverhostConnection) {
        // Every driverhost of the instance writes to its log, the standby too.
        if case .log(let line) = event {
            appendLog(line, to: record)
            return
        }
        if connection === record.standby {
            if case .exited(let status) = event {
                // Not replaced until the next attach: a standby that cannot
                // even wait (its plugin fails to load) must not loop.
                record.standby = nil
                publish(record)
                logger.warning("standby driverhost ended before it was needed",
                               metadata: ["instance": "\(record.name)", "status": "\(status)"])
            }
            return
        }
        guard connection === record.connection else { return }
        switch event {
        case .attached:
            if record.state == .starting { record.state = .running }
            record.lastAnswer = clock.now
            spawnStandby(record)
            publish(record)
            logger.info("instance attached", metadata: ["instance": "\(record.name)", "restart": "\(record.restarts)"])
            wakeAll(&record.attachWaiters)
            resumeTrace(record)
        case .classDevice(let device):
            if record.classDevice != device {
                record.classDevice = device
                recordDriverhost(record)
                logger.info("instance serves a class device", metadata: ["instance": "\(record.name)", "kind": "\(device.kind)", "name": "\(device.name)"])
            }
        case .classCounters(let kind, let counters):
            if record.classDevice?.kind == kind { record.classCounters = counters }
        case .pong:
            record.lastAnswer = clock.now
        case .failed(let message):
            record.endReason = record.endReason ?? TerminalText.escape(message)
        case .log: break  // taken above
        case .misbehaved(let why):
            record.endReason = "killed by hostd: it \(why)"
            logger.error("driverhost killed", metadata: ["instance": "\(record.name)", "reason": "\(why)"])
        case .result(let id, let text):
            record.pendingCalls.removeValue(forKey: id)?.resume(returning: text)
        case .error(let id, let message):
            record.pendingCalls.removeValue(forKey: id)?.resume(throwing: ControlError(.failed, message))
        case .trace(let dropped, let records):
            relayTrace(dropped, records, of: record)
        case .durations(let durations):
            record.trace.take(durations)
        case .channelEnded:
            // The exit follows (its status decides what comes next), and the
            // kernel's release is what a restart waits for, never this.
            break
        case .exited(let status):
            record.connection = nil
            record.trace.driverhostEnded()
            forgetDriverhost(record)
            killLeftovers(of: record)
            for (_, call) in record.pendingCalls {
                call.resume(throwing: ControlError(.failed, "\(record.name): driverhost ended during the call: \(status)"))
            }
            record.pendingCalls.removeAll()
            let stopping = record.state == .stopping
            if !stopping && instances[record.name] === record {
                crashed(record, status)
            }
            wakeAll(&record.exitWaiters)
            wakeAll(&record.attachWaiters)
        }
    }

    /// What a driverhost left behind that escaped its process group (a
    /// plugin's child that called setsid, holding the device's descriptor,
    /// a lock, a mapping) is still in the instance's cgroup: killed with
    /// it. The standby, in the same cgroup, is spared. (Without cgroups
    /// only the process group is ended, when the driverhost is reaped.)
    func killLeftovers(of record: InstanceRecord) {
        guard let cgroups else { return }
        let standby = record.standby?.process.pid
        let left = cgroups.processes(record.name).filter { $0 != standby }
        guard !left.isEmpty else { return }
        for pid in left { kill(pid, SIGKILL) }
        logger.warning("killed what the driverhost left in its cgroup",
                       metadata: ["instance": "\(record.name)", "pids": "\(left.map(String.init).joined(separator: " "))"])
    }

    private func wakeAll(_ waiters: inout [CheckedContinuation<Void, Never>]) {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
    }

    func crashed(_ record: InstanceRecord, _ status: ExitStatus) {
        if record.endReason == nil, status == .signaled(SIGKILL), let cgroups,
           cgroups.oomKills(record.name) > record.oomKillsAtStart {
            record.endReason = "killed by the kernel's OOM killer at the instance's memory limit (memory_max_mb = \(config.resources.memoryMaxMB))"
        }
        // A plugin file overwritten in place under a running driverhost
        // (cp over it) kills it with SIGBUS: an upgrade gone wrong, not a
        // crash of the plugin, so it does not count toward the crash limit.
        let upgraded = record.endReason == nil && status.isSignaled
            && PluginFileIdentity(path: pluginPath(record.pluginFile)) != record.pluginAtStart
        if upgraded {
            record.endReason = "its plugin file was replaced in place (install or mv a new file instead); not counted as a crash"
        }
        record.lastExit = record.endReason.map { "\(status): \($0)" } ?? status.description
        remember(record)
        let exit = record.lastExit!
        logger.warning("driverhost ended", metadata: ["instance": "\(record.name)", "status": "\(exit)"])
        if status.isPermanent {
            fail(record, "\(exit); restarting cannot help")
            return
        }
        switch upgraded ? .restart(afterMs: 0) : record.policy.crashed(atMs: nowMs) {
        case .giveUp(let crashes, let window):
            // Not every end is a crash: an error exit says what failed.
            let ended = if case .signaled = status { "crashed" } else { "ended" }
            fail(record, "\(ended) \(crashes) times within \(window) ms; last: \(exit)")
        case .restart(let delay):
            record.state = .restarting
            publish(record)
            let generation = record.generation
            Task { await self.restartAfterRelease(record, generation: generation, delayMs: delay) }
        }
    }

    func fail(_ record: InstanceRecord, _ reason: String) {
        retireStandby(record)
        record.state = .failed
        record.failure = reason
        publish(record)
        logger.error("instance failed", metadata: ["instance": "\(record.name)", "reason": "\(reason)"])
        // Nobody will drive its class device again: its users get errors
        // now rather than waiting for a driver that will not come.
        Task { await self.endClassDevice(of: record) }
    }

    private func stillRestarting(_ record: InstanceRecord, _ generation: Int) -> Bool {
        record.generation == generation && record.state == .restarting && instances[record.name] === record
    }

    /// The kernel must have finished the release (release program, IRQ
    /// freed, bus mastering off) before a new driverhost may open the device.
    func restartAfterRelease(_ record: InstanceRecord, generation: Int, delayMs: Int) async {
        let confirmed = await confirmRelease(record)
        guard stillRestarting(record, generation) else { return }
        guard confirmed else {
            fail(record, "the kernel did not confirm the release of \(record.device) within \(config.releaseWaitMs) ms after \(record.lastExit ?? "the exit")")
            return
        }
        if delayMs > 0 {
            try? await Task.sleep(for: .milliseconds(delayMs))
            guard stillRestarting(record, generation) else { return }
        }
        record.restarts += 1
        remember(record)
        launch(record)
    }

    /// Keeps the instance's history with the operator's intent.
    func remember(_ record: InstanceRecord) {
        intent.history[record.name] = .init(restarts: record.restarts, lastExit: record.lastExit)
        saveIntent()
    }

    /// True once the proxy's releases counter moved past its value at
    /// start, bounded by release_wait_ms. The wait is the kernel's event
    /// (DeviceSource.releasesAttribute) in hostd's one watcher: whatever
    /// the device or a process holding it does, the control plane goes on.
    func confirmRelease(_ record: InstanceRecord) async -> Bool {
        guard let source = source(for: record.device), let before = record.releasesAtStart else { return false }
        let device = record.device
        // Nearly always already done: the kernel releases inside the
        // driverhost's exit, before its pidfd reports it. (Reading the
        // counter takes no lock, so it cannot stall the actor.)
        if let now = source.counters(device).releases, now > before { return true }
        return await ChildWatcher.shared.until(within: config.releaseWaitMs, notifiedBy: source.releasesAttribute(device)) {
            (source.counters(device).releases ?? 0) > before
        }
    }

    /// Orderly stop of the current driverhost: "stop" on its control
    /// socket, SIGKILL if it has not exited within the bound.
    func stopDriverhost(_ record: InstanceRecord) async {
        record.state = .stopping
        guard let connection = record.connection else { return }
        connection.requestStop()
        let generation = record.generation
        let killer = Task {
            try? await Task.sleep(for: .seconds(5))
            if !Task.isCancelled, record.generation == generation, record.connection != nil {
                self.logger.warning("driverhost did not stop; killing it", metadata: ["instance": "\(record.name)"])
                connection.process.signal(SIGKILL)
            }
        }
        await withCheckedContinuation { record.exitWaiters.append($0) }
        killer.cancel()
    }

    /// Bounded like stopDriverhost: an idle standby that does not go on
    /// "stop" is killed (it holds no device, so nothing is left half-done).
    private func waitForExit(_ standby: DriverhostConnection, of record: InstanceRecord) async {
        let killer = Task {
            try? await Task.sleep(for: .seconds(5))
            if !Task.isCancelled {
                self.logger.warning("standby driverhost did not stop; killing it", metadata: ["instance": "\(record.name)"])
                standby.process.signal(SIGKILL)
            }
        }
        _ = await standby.waitForExit()
        killer.cancel()
    }

    /// Stops the instance and forgets it; puts the device back on its
    /// previous driver unless `restoring` is false (a plugin being replaced).
    func unload(_ record: InstanceRecord, restoring: Bool = true) async {
        await stopDriverhost(record)
        if let standby = retireStandby(record) {
            await waitForExit(standby, of: record)
        }
        await endClassDevice(of: record)
        if let cgroups {
            // What killLeftovers ended must be gone before the cgroup can go.
            let directory = cgroups.directory(of: record.name)
            _ = await ChildWatcher.shared.until(within: 1000, notifiedBy: directory + "/cgroup.events") {
                InstanceCgroups.isEmpty(directory)
            }
            cgroups.remove(record.name)
        }
        endLogs(of: record)
        endTrace(of: record)
        if instances[record.name] === record { instances.removeValue(forKey: record.name) }
        publish(record)
        logger.info("instance unloaded", metadata: ["instance": "\(record.name)"])
        if restoring && !instances.values.contains(where: { $0.device == record.device }) {
            restoreBinding(record.device)
        }
    }

    func status(_ record: InstanceRecord) -> InstanceStatus {
        let counters = source(for: record.device)?.counters(record.device) ?? DeviceCounters()
        return InstanceStatus(name: record.name, plugin: record.pluginName, device: record.device, state: record.state,
                              pid: record.connection?.process.pid, standbyPid: record.standby?.process.pid, restarts: record.restarts,
                              lastExit: record.lastExit, failure: record.failure,
                              interrupts: counters.interrupts, notMine: counters.notMine,
                              dropped: counters.dropped, releases: counters.releases, storms: counters.storms,
                              dmaMode: counters.dmaMode, reset: counters.reset,
                              classDevice: record.classDevice.map { ClassDeviceStatus(kind: $0.kind, name: $0.name) },
                              callbackDurations: record.trace.durations,
                              classCounters: record.classCounters)
    }
}
