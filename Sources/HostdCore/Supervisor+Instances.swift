import DrvHostControl
import FoundationEssentials
import Glibc
import Logging
import TerminalText
import DrvHostProtocol

/// Instances: start, watch, restart after the kernel's release, stop.
extension Supervisor {
    /// Binds each device to drvproxy and starts one driverhost on it;
    /// returns once each has attached or ended.
    func start(_ file: String, _ plugin: PluginDescription, on devices: [DeviceRow]) async -> [InstanceStatus] {
        var started: [InstanceRecord] = []
        for device in devices {
            let name = InstanceRecord.name(plugin: plugin.name, device: device.bdf)
            guard instances[name] == nil else { continue }
            // Its history goes on across hostd's restarts.
            let history = intent.history[name]
            let machine = InstanceMachine(device: device.bdf, bounds: machineBounds, limits: config.restart,
                                          restarts: history?.restarts ?? 0, lastExit: history?.lastExit)
            let record = InstanceRecord(name: name, pluginFile: file, pluginName: plugin.name,
                                        device: device.bdf, machine: machine)
            // The previous hostd's driverhost, still serving the device.
            instances[name] = record
            if await adoptRecorded(record) {
                if record.state == .starting { started.append(record) }
                continue
            }
            do {
                try await claimDevice(device.bdf)
            } catch {
                drive(record, .spawnFailed(error.message))
                continue
            }
            // Unloaded while the device was being bound: nothing to start,
            // and the device goes back unless another instance took it.
            guard instances[name] === record else {
                if !instances.values.contains(where: { $0.device == device.bdf }) { await restoreBinding(device.bdf) }
                continue
            }
            drive(record, .startRequested)
            started.append(record)
        }
        for record in started where record.state == .starting {
            await withCheckedContinuation { record.attachWaiters.append($0) }
        }
        return started.map(status)
    }

    /// The bounds every instance's machine keeps, from the configuration.
    var machineBounds: InstanceMachine.Bounds {
        .init(attachMs: Int(config.limits.maxAttachMs) + config.livenessBoundMs, livenessMs: config.livenessBoundMs,
              releaseWaitMs: config.releaseWaitMs, stopMs: Supervisor.stopBoundMs,
              memoryLimit: "memory_max_mb = \(config.resources.memoryMaxMB)")
    }

    /// An orderly stop ("stop") is given this long before SIGKILL.
    static let stopBoundMs = 5000

    /// Tells the instance's machine what happened and does what it answers:
    /// the one place where an instance changes state.
    func drive(_ record: InstanceRecord, _ event: InstanceMachine.Event) {
        let before = record.machine.state
        let effects = record.machine.handle(event, at: nowMs)
        // The standby is part of what the attach's publication shows.
        if case .attached = event, record.state == .running { spawnStandby(record) }
        for effect in effects { apply(effect, to: record) }
        if before != record.machine.state {
            switch record.machine.state {
            case .failed(let reason):
                logger.error("instance failed", metadata: ["instance": "\(record.name)", "reason": "\(reason)"])
                wakeAll(&record.attachWaiters)
            case .unloaded:
                wakeAll(&record.attachWaiters)
            default: break
            }
        }
        armTimer(record)
    }

    private func apply(_ effect: InstanceMachine.Effect, to record: InstanceRecord) {
        switch effect {
        case .spawn:
            launch(record)
        case .kill(let why):
            logger.error("driverhost killed", metadata: ["instance": "\(record.name)", "reason": "\(why)"])
            // SIGKILL ends a stopped process too; its exit then comes as usual.
            record.connection?.process.signal(SIGKILL)
        case .requestStop:
            record.connection?.requestStop()
        case .ping(let n):
            record.connection?.ping(n)
        case .awaitRelease:
            let generation = record.generation
            Task {
                // The machine keeps the deadline: a late answer is dropped.
                guard await self.confirmRelease(record), record.generation == generation else { return }
                self.drive(record, .released)
            }
        case .saveHistory:
            remember(record)
        case .cleanUpDriverhost:
            forgetDriverhost(record)
            killLeftovers(of: record)
        case .endClassDevice:
            // Unload ends it itself, in its order; a failure ends it here.
            if case .failed = record.machine.state {
                retireStandby(record)
                Task { await self.endClassDevice(of: record) }
            }
        case .remove:
            break  // unload(_:) forgets the instance once all is undone
        case .publish:
            publish(record)
        }
    }

    /// One timer per instance in the one watcher, at the machine's next
    /// deadline; it delivers `.tick` through the actor.
    func armTimer(_ record: InstanceRecord) {
        let deadline = record.machine.nextDeadline
        if let timer = record.timer, timer.at == deadline { return }
        if let timer = record.timer { ChildWatcher.shared.cancelTimer(timer.token) }
        record.timer = nil
        guard let deadline, instances[record.name] === record else { return }
        let token = ChildWatcher.shared.at(epoch + .milliseconds(deadline), Supervisor.tick(self, record.name, deadline))
        record.timer = (token, deadline)
    }

    /// Made outside the actor: it runs on the watcher's thread and only
    /// hops onto the actor.
    private nonisolated static func tick(_ supervisor: Supervisor, _ name: String, _ deadline: Int64) -> () -> Void {
        { Task { await supervisor.tick(name, deadline) } }
    }

    private func tick(_ name: String, _ deadline: Int64) {
        // Re-armed or gone meanwhile: that timer's tick is the one that counts.
        guard let record = instances[name], record.timer?.at == deadline else { return }
        record.timer = nil
        drive(record, .tick)
    }

    /// Starts the next driverhost of an instance (the machine's `.spawn`):
    /// the warm standby if one is waiting, else a new process.
    func launch(_ record: InstanceRecord) {
        record.generation += 1
        record.releasesAtStart = source(for: record.device)?.releases(record.device)
        if record.standby != nil, record.standbyPlugin != PluginFileIdentity(path: pluginPath(record.pluginFile)) {
            // It loaded a plugin file that has been replaced since: the
            // next driverhost must run the new one.
            retireStandby(record)
        }
        let connection: DriverhostConnection
        let warm: Bool
        if let standby = record.standby, standby.requestStart(restartCount: record.restarts, classDevice: record.classDevice,
                                                                     queues: record.keptQueues.descriptors) {
            record.standby = nil
            connection = standby
            warm = true
        } else {
            // A standby that cannot take the start has died; its exit is
            // ignored once it is no longer the record's standby.
            record.standby = nil
            // It attaches the class device's queues by name: kept ones
            // would take a share of the traffic that nobody reads.
            record.keptQueues.release()
            do {
                connection = try spawnDriverhost(record, standby: false)
            } catch {
                drive(record, .spawnFailed("cannot start driverhost: \(error)"))
                return
            }
            warm = false
        }
        record.connection = connection
        record.classCounters = nil
        record.oomKillsAtStart = cgroups?.oomKills(record.name) ?? 0
        watchMemoryLimit(of: record)
        record.pluginAtStart = PluginFileIdentity(path: pluginPath(record.pluginFile))
        recordDriverhost(record)
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
    func spawnStandby(_ record: InstanceRecord) {
        guard config.warmStandby, record.standby == nil, record.state == .running else { return }
        do {
            // Taken before the spawn: a file replaced meanwhile makes the
            // standby look stale, never a stale one look current.
            let plugin = PluginFileIdentity(path: pluginPath(record.pluginFile))
            let standby = try spawnDriverhost(record, standby: true)
            record.standby = standby
            record.standbyPlugin = plugin
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

    /// The one place a driverhost's messages are dispatched.
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
            drive(record, .attached)
            logger.info("instance attached", metadata: ["instance": "\(record.name)", "restart": "\(record.restarts)"])
            wakeAll(&record.attachWaiters)
            resumeTrace(record)
        case .classDevice(let device):
            if record.classDevice != device {
                record.classDevice = device
                recordDriverhost(record)
                logger.info("instance serves a class device", metadata: ["instance": "\(record.name)", "kind": "\(device.kind)", "name": "\(device.name)"])
            }
        case .classQueues(let kind, let fds):
            keepClassQueues(kind, fds, of: record, from: connection)
        case .classCounters(let kind, let counters):
            if record.classDevice?.kind == kind { record.classCounters = counters }
        case .pong:
            drive(record, .heartbeatAnswered)
        case .failed(let message):
            drive(record, .failedLine(TerminalText.escape(message)))
        case .log: break  // taken above
        case .misbehaved(let why):
            drive(record, .limitHit(why))
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
            classDeviceUndriven(record)
            drive(record, .channelEnded)
        case .exited(let status):
            record.connection = nil
            record.memoryWatch?.end()
            record.memoryWatch = nil
            classDeviceUndriven(record)
            record.trace.driverhostEnded()
            for (_, call) in record.pendingCalls {
                call.resume(throwing: ControlError(.failed, "\(record.name): driverhost ended during the call: \(status)"))
            }
            record.pendingCalls.removeAll()
            if instances[record.name] === record || record.machine.hasDriverhost {
                drive(record, .exited(status, observed(record, status)))
                if let exit = record.lastExit, record.state != .stopping {
                    logger.warning("driverhost ended", metadata: ["instance": "\(record.name)", "status": "\(exit)"])
                }
            } else {
                forgetDriverhost(record)
                killLeftovers(of: record)
            }
            wakeAll(&record.exitWaiters)
            wakeAll(&record.attachWaiters)
        }
    }

    /// What hostd knows about an exit besides its status.
    private func observed(_ record: InstanceRecord, _ status: ExitStatus) -> InstanceMachine.Observed {
        InstanceMachine.Observed(
            oomKilled: status == .signaled(SIGKILL) && (cgroups.map { $0.oomKills(record.name) > record.oomKillsAtStart } ?? false),
            // A plugin file overwritten in place under a running driverhost
            // (cp over it) kills it with SIGBUS: an upgrade gone wrong.
            pluginReplaced: status.isSignaled && PluginFileIdentity(path: pluginPath(record.pluginFile)) != record.pluginAtStart)
    }

    /// What a driverhost left behind that escaped its process group (a
    /// plugin's child that called setsid, holding the device's descriptor,
    /// a lock, a mapping) is still in the instance's cgroup: killed with
    /// it, and the instance's last exit says so. The standby, in the same
    /// cgroup, is spared. The cgroup is read, and the leftovers killed, on
    /// the cgroup worker, never on the supervisor. (Without cgroups only
    /// the process group is ended, when the driverhost is reaped.)
    func killLeftovers(of record: InstanceRecord) {
        guard let cgroups else { return }
        let procs = cgroups.directory(of: record.name) + "/cgroup.procs"
        let standby = record.standby?.process.pid
        Task {
            let killed = await SerialWorker.cgroups.run {
                let left = InstanceCgroups.processes(listedIn: procs).filter { $0 != standby }
                for pid in left { kill(pid, SIGKILL) }
                return left
            }
            guard !killed.isEmpty else { return }
            let pids = killed.map(String.init).joined(separator: " ")
            self.logger.warning("killed what the driverhost left in its cgroup", metadata: ["instance": "\(record.name)", "pids": "\(pids)"])
            self.drive(record, .leftoversKilled("hostd killed what it left in its cgroup (pid \(pids))"))
        }
    }

    /// Ends the current driverhost, with the reason, once the kernel
    /// throttles the instance at its memory limit (cgroups only).
    func watchMemoryLimit(of record: InstanceRecord) {
        record.memoryWatch?.end()
        record.memoryWatch = nil
        guard let cgroups else { return }
        let name = record.name, generation = record.generation
        record.memoryWatch = MemoryLimitWatch(cgroup: cgroups.directory(of: name)) { used in
            Task { await self.overMemoryLimit(name, generation, used: used) }
        }
    }

    private func overMemoryLimit(_ name: String, _ generation: Int, used: UInt64?) {
        // A later driverhost's limit is its own watch's to tell.
        guard let record = instances[name], record.generation == generation, record.connection != nil else { return }
        let mib = used.map { "\($0 >> 20) MiB" } ?? "memory"
        drive(record, .limitHit("used \(mib), more than its memory limit (memory_max_mb = \(config.resources.memoryMaxMB))"))
    }

    private func wakeAll(_ waiters: inout [CheckedContinuation<Void, Never>]) {
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.resume() }
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
        if let now = source.releases(device), now > before { return true }
        return await ChildWatcher.shared.until(within: config.releaseWaitMs, notifiedBy: source.releasesAttribute(device)) {
            (source.releases(device) ?? 0) > before
        }
    }

    /// Orderly stop of the current driverhost ("stop", SIGKILL at the
    /// machine's stop bound); returns once it has exited, or at once when
    /// none runs.
    func stopDriverhost(_ record: InstanceRecord) async {
        drive(record, .unloadRequested)
        guard record.connection != nil else { return }
        await withCheckedContinuation { record.exitWaiters.append($0) }
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
            await restoreBinding(record.device)
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
