import CHostd
import FoundationEssentials
import Glibc
import Logging

/// hostd's own restart disturbs no instance. Every driverhost outlives hostd
/// (no parent-death signal) and listens on a socket of its own; hostd keeps a
/// DriverhostRecord for each. A new hostd, when a plugin it reads at start
/// claims an instance that has a record, adopts that driverhost (same pid,
/// same open device, interrupts served throughout) instead of starting one;
/// a recorded driverhost that died while no hostd was there is recovered as
/// after a crash (the kernel released the device when it died).
extension Supervisor {
    /// Records left by the previous hostd, before any plugin is read.
    func loadDriverhostRecords() {
        do {
            try driverhostRecords.prepare()
        } catch {
            logger.error("driverhosts cannot be recorded for the next hostd: \(error)")
        }
        adoptable = driverhostRecords.loadAll { logger.warning("\($0)") }
        driverhostRecords.removeStaleSockets(keeping: adoptable.values)
        if !adoptable.isEmpty {
            logger.info("driverhosts to adopt", metadata: ["instances": "\(adoptable.keys.sorted().joined(separator: ", "))"])
        }
    }

    /// Adopts the instance's recorded driverhost, if there is a record for
    /// it; true if the record decided the instance's fate (adopted, or
    /// recovered as after a crash), false if there is none (start it as new).
    func adoptRecorded(_ record: InstanceRecord) async -> Bool {
        guard let saved = adoptable.removeValue(forKey: record.name) else { return false }
        guard saved.pluginFile == record.pluginFile, saved.device == record.device else {
            await retire(saved, because: "its instance is now driven by \(record.pluginFile)")
            return false
        }
        let current = PluginFileIdentity(path: pluginPath(record.pluginFile))
        // Replaced while no hostd watched: adopted, then upgraded as a
        // running hostd would have done (its class device goes on).
        let replaced = saved.pluginFileID.map { $0 != current?.text } ?? false
        record.classDevice = saved.classDevice
        record.releasesAtStart = saved.releasesAtStart
        record.generation += 1
        let connection: DriverhostConnection
        do throws(AdoptionFailure) {
            let process: ChildProcess
            do {
                process = try ChildProcess(adopting: saved.pid, startTime: saved.startTime)
            } catch {
                throw AdoptionFailure(reason: "its driverhost (pid \(saved.pid)) ended while hostd was not running (\(error))")
            }
            // A zombie still has its pid and start time; its parent (init)
            // has not reaped it yet.
            if process.hasExited {
                throw AdoptionFailure(reason: "its driverhost (pid \(saved.pid)) ended while hostd was not running")
            }
            do {
                connection = try DriverhostConnection(adopting: process, socketPath: saved.socket)
            } catch {
                // Alive but out of reach: it cannot be supervised, so it
                // goes, and the device with it (the kernel's release).
                process.signal(SIGKILL)
                _ = await ChildWatcher.shared.exit(of: process)
                throw AdoptionFailure(reason: "its driverhost (pid \(saved.pid)) could not be adopted (\(error)) and was killed")
            }
        } catch {
            driverhostRecords.remove(saved.instance)
            unlink(saved.socket)
            // The kernel released the device as the process died: the same
            // recovery as after a crash, counted as one.
            logger.warning("recorded driverhost not adopted", metadata: ["instance": "\(record.name)", "reason": "\(error.reason)"])
            drive(record, .adoptionFailed(error.reason))
            return true
        }
        record.connection = connection
        record.oomKillsAtStart = cgroups?.oomKills(record.name) ?? 0
        watchMemoryLimit(of: record)
        record.pluginAtStart = replaced ? nil : current
        follow(connection, of: record)
        drive(record, .adopted)
        logger.info("driverhost adopted", metadata: ["instance": "\(record.name)", "pid": "\(saved.pid)",
                                                     "restart": "\(record.restarts)"])
        if replaced { upgrade(record) }
        return true
    }

    private struct AdoptionFailure: Error {
        let reason: String
    }

    /// Keeps the record of the instance's current driverhost up to date.
    func recordDriverhost(_ record: InstanceRecord) {
        guard let connection = record.connection, let socket = connection.socketPath else { return }
        let pid = connection.process.pid
        guard let startTime = ChildProcess.startTime(of: pid) else { return }  // gone already: its exit follows
        let saved = DriverhostRecord(instance: record.name, pluginFile: record.pluginFile, plugin: record.pluginName,
                                     device: record.device, pid: pid, startTime: startTime, socket: socket,
                                     classKind: record.classDevice?.kind, className: record.classDevice?.name,
                                     releasesAtStart: record.releasesAtStart, pluginFileID: record.pluginAtStart?.text)
        do {
            try driverhostRecords.save(saved)
        } catch {
            logger.error("driverhost not recorded: the next hostd cannot adopt it", metadata: ["instance": "\(record.name)", "reason": "\(error)"])
        }
    }

    func forgetDriverhost(_ record: InstanceRecord) {
        driverhostRecords.remove(record.name)
    }

    /// After the plugins present at start were read: recorded driverhosts no
    /// plugin claimed (file removed, refused now, or unloaded) are stopped,
    /// and their devices given back.
    func retireUnclaimedDriverhosts() async {
        let left = adoptable.values
        adoptable.removeAll()
        for saved in left {
            await retire(saved, because: "no plugin in the directory claims it now")
            if !instances.values.contains(where: { $0.device == saved.device }) {
                await restoreBinding(saved.device)
            }
        }
    }

    /// Stops a recorded driverhost hostd will not adopt: SIGTERM (it
    /// detaches and closes the device), SIGKILL if it has not gone within
    /// the stop bound.
    private func retire(_ saved: DriverhostRecord, because why: String) async {
        driverhostRecords.remove(saved.instance)
        defer { unlink(saved.socket) }
        guard let process = try? ChildProcess(adopting: saved.pid, startTime: saved.startTime) else { return }
        logger.warning("stopping a recorded driverhost", metadata: ["instance": "\(saved.instance)", "pid": "\(saved.pid)", "reason": "\(why)"])
        process.signal(SIGTERM)
        if await ChildWatcher.shared.exit(of: process, within: .seconds(5)) == nil {
            process.signal(SIGKILL)
            _ = await ChildWatcher.shared.exit(of: process)
        }
    }
}
