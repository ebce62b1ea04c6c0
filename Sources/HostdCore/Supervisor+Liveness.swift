import Glibc

/// A driverhost that is alive but useless (stopped, stuck outside a plugin
/// callback, hung before its attach returned) is killed and restarted like
/// a crash, with the reason shown. Plugin callbacks themselves are bounded
/// inside driverhost by its watchdog; these bounds are longer than any
/// callback may be, so they only catch what the watchdog cannot.
extension Supervisor {
    /// Until "attached": the longest attach allowed, plus the liveness bound.
    func watchAttach(_ record: InstanceRecord, _ connection: DriverhostConnection) {
        let bound = Duration.milliseconds(Int(config.limits.maxAttachMs) + config.livenessBoundMs)
        Task {
            try? await Task.sleep(for: bound)
            self.killIfStillStarting(record, connection, bound: bound)
        }
    }

    private func killIfStillStarting(_ record: InstanceRecord, _ connection: DriverhostConnection, bound: Duration) {
        guard record.connection === connection, record.state == .starting else { return }
        kill(record, connection, because: "did not attach within \(bound.milliseconds) ms (stopped or hung)")
    }

    /// Once attached: a heartbeat every fifth of the bound; no answer for
    /// the whole bound ends it.
    func watchLiveness(_ record: InstanceRecord, _ connection: DriverhostConnection) {
        let bound = Duration.milliseconds(config.livenessBoundMs)
        record.lastAnswer = clock.now
        Task {
            var beat: UInt64 = 0
            while true {
                try? await Task.sleep(for: bound / 5)
                guard self.heartbeat(record, connection, beat, bound: bound) else { return }
                beat += 1
            }
        }
    }

    /// False once the heartbeats for this driverhost are over.
    private func heartbeat(_ record: InstanceRecord, _ connection: DriverhostConnection, _ beat: UInt64,
                           bound: Duration) -> Bool {
        guard record.connection === connection, record.state == .running else { return false }
        if clock.now - record.lastAnswer > bound {
            kill(record, connection, because: "answered no heartbeat for \(bound.milliseconds) ms (stopped, or stuck outside a plugin callback)")
            return false
        }
        connection.ping(beat)
        return true
    }

    private func kill(_ record: InstanceRecord, _ connection: DriverhostConnection, because why: String) {
        record.endReason = "killed by hostd: it \(why)"
        logger.error("driverhost unresponsive; killing it", metadata: ["instance": "\(record.name)", "reason": "\(why)"])
        connection.process.signal(SIGKILL)
        // SIGKILL ends a stopped process too; its exit then comes as usual.
    }
}

extension Duration {
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
