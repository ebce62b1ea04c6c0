import Glibc

/// A driverhost that is alive but useless (stopped, stuck outside a plugin
/// callback, hung before its attach returned) or that outgrows its memory
/// limit is killed by hostd and restarted like a crash, with the reason
/// shown. Plugin callbacks themselves are bounded inside driverhost by its
/// watchdog; these bounds are longer than any callback may be, so they
/// catch only what that watchdog cannot (it stops with its process).
extension Supervisor {
    /// How often a driverhost's watcher looks: memory use at every tick, a
    /// heartbeat every fifth of the liveness bound.
    static let watchTick = Duration.milliseconds(100)

    /// One watcher per driverhost, from its start until it is no longer the
    /// instance's (exited, stopping, replaced).
    func watch(_ record: InstanceRecord, _ connection: DriverhostConnection) {
        let started = clock.now
        Task {
            var beat: UInt64 = 0
            var lastBeat = started
            while true {
                try? await Task.sleep(for: Supervisor.watchTick)
                guard self.check(record, connection, started: started, beat: beat, lastBeat: &lastBeat) else { return }
                beat += 1
            }
        }
    }

    /// False once this driverhost needs no more watching.
    private func check(_ record: InstanceRecord, _ connection: DriverhostConnection, started: ContinuousClock.Instant,
                       beat: UInt64, lastBeat: inout ContinuousClock.Instant) -> Bool {
        guard record.connection === connection, [.starting, .running].contains(record.state) else { return false }
        let now = clock.now
        let limit = config.resources.memoryBytes
        if let used = cgroups?.memoryCurrent(record.name), used > limit {
            kill(record, connection, because: "used \(used >> 20) MiB, more than its memory limit (memory_max_mb = \(config.resources.memoryMaxMB))")
            return false
        }
        let liveness = Duration.milliseconds(config.livenessBoundMs)
        if record.state == .starting {
            let attachBound = Duration.milliseconds(Int(config.limits.maxAttachMs)) + liveness
            if now - started > attachBound {
                kill(record, connection, because: "did not attach within \(attachBound.milliseconds) ms (stopped or hung)")
                return false
            }
            return true
        }
        if now - record.lastAnswer > liveness {
            kill(record, connection, because: "answered no heartbeat for \(liveness.milliseconds) ms (stopped, or stuck outside a plugin callback)")
            return false
        }
        if now - lastBeat >= liveness / 5 {
            connection.ping(beat)
            lastBeat = now
        }
        return true
    }

    private func kill(_ record: InstanceRecord, _ connection: DriverhostConnection, because why: String) {
        record.endReason = "killed by hostd: it \(why)"
        logger.error("driverhost killed", metadata: ["instance": "\(record.name)", "reason": "\(why)"])
        // SIGKILL ends a stopped process too; its exit then comes as usual.
        connection.process.signal(SIGKILL)
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
