import CHostd
import FoundationEssentials
import Glibc
import DrvHostSystem
import Logging
import DrvHostProtocol

/// Class devices (a ublk disk, a TAP interface) outlive each driverhost of
/// their instance; the supervisor ends them when nobody will drive them
/// again: after an unload, and when the instance failed for good.
extension Supervisor {
    static let classDeviceEndBound = Duration.seconds(10)

    /// Runs `driverhost --end-device KIND NAME` (bounded: killed after
    /// classDeviceEndBound) and forgets the class device.
    func endClassDevice(of record: InstanceRecord) async {
        // Kept queues would keep a TAP interface's last queue attached.
        record.keptQueues.release()
        guard let device = record.classDevice else { return }
        record.classDevice = nil
        publish(record)
        let outcome = await ClassDeviceEnd.run(driverhost: config.driverhostPath, device: device,
                                               bound: Supervisor.classDeviceEndBound)
        let metadata: Logger.Metadata = ["instance": "\(record.name)", "kind": "\(device.kind)", "name": "\(device.name)"]
        switch outcome {
        case .ended: logger.info("class device ended", metadata: metadata)
        case .failed(let why): logger.error("cannot end the class device: \(why)", metadata: metadata)
        }
    }
}

extension Supervisor {
    /// "queues": keep the current driverhost's queues of its class device
    /// (KeptClassQueues). Without them a crash costs a detach and an attach.
    func keepClassQueues(_ kind: String, _ fds: [Int32], of record: InstanceRecord, from connection: DriverhostConnection) {
        let metadata: Logger.Metadata = ["instance": "\(record.name)", "kind": "\(kind)"]
        guard record.classDevice?.kind == kind else {
            logger.warning("queues of a class device the instance does not serve: ignored", metadata: metadata)
            return
        }
        do {
            try record.keptQueues.take(fds, from: connection)
        } catch {
            record.keptQueues.release()
            logger.warning("cannot keep the class device's queues: \(error); the next driverhost attaches them anew", metadata: metadata)
        }
    }

    /// The instance's driverhost is gone (or going): nobody drives its TAP
    /// interface until the next one. The carrier stays on for the grace
    /// (hostd.toml [net] carrier_grace_ms), counted from when a plugin last
    /// said the link is up: a restart within it is no link change for the
    /// interface's users. A carrier that went off would make the kernel drop
    /// what TCP sends meanwhile, and TCP would then wait out its
    /// retransmission timer (hundreds of ms, doubling) after the restart.
    func classDeviceUndriven(_ record: InstanceRecord) {
        let kept = record.keptQueues
        // Called at the channel's end and at the exit: the first decides.
        guard !kept.descriptors.isEmpty, kept.grace == .none else { return }
        let since = kept.undrivenSinceMs ?? nowMs
        kept.undrivenSinceMs = since
        let deadline = since + Int64(config.carrierGraceMs)
        guard deadline > nowMs else { return carrierGraceEnded(record) }
        kept.grace = .running(timer: ChildWatcher.shared.at(epoch + .milliseconds(deadline),
                                                            Supervisor.carrierGraceTick(self, record.name, record.generation)))
    }

    /// Made outside the actor: it runs on the watcher's thread.
    private nonisolated static func carrierGraceTick(_ supervisor: Supervisor, _ name: String, _ generation: Int) -> () -> Void {
        { Task { await supervisor.carrierGraceTick(name, generation) } }
    }

    /// A driverhost started since took the grace over with its "start".
    private func carrierGraceTick(_ name: String, _ generation: Int) {
        guard let record = instances[name], record.generation == generation, case .running = record.keptQueues.grace,
              !record.keptQueues.descriptors.isEmpty else { return }
        carrierGraceEnded(record)
    }

    private func carrierGraceEnded(_ record: InstanceRecord) {
        let metadata: Logger.Metadata = ["instance": "\(record.name)"]
        record.keptQueues.grace = .ended
        if let why = record.keptQueues.carrierOff() {
            logger.warning("cannot turn the carrier off: \(why)", metadata: metadata)
        } else {
            logger.info("the carrier grace (\(config.carrierGraceMs) ms) ended with nobody driving the interface: carrier off", metadata: metadata)
        }
    }

    /// What is left of the carrier grace for the driverhost being started
    /// with the kept queues (SupervisorMessage "start"); hostd's own timer
    /// stops: from now on only that driverhost sets the carrier.
    func handCarrierGraceOver(_ record: InstanceRecord) -> UInt32? {
        let kept = record.keptQueues
        kept.forgetGrace()
        guard !kept.descriptors.isEmpty, let since = kept.undrivenSinceMs else { return nil }
        return UInt32(clamping: max(0, since + Int64(config.carrierGraceMs) - nowMs))
    }

    /// A driverhost's counters say its plugin has the link up: the grace
    /// starts afresh at its end.
    func noteCarrier(_ counters: [ClassCounter], of record: InstanceRecord) {
        if counters.contains(where: { $0.name == "carrier" && $0.value == 1 }) { record.keptQueues.undrivenSinceMs = nil }
    }
}

/// One `driverhost --end-device` run, waited for by the one watcher.
enum ClassDeviceEnd {
    enum Outcome: Equatable {
        case ended
        case failed(String)
    }

    /// What of its error output is kept for the reason.
    static let keptOutput = 4096

    static func run(driverhost: String, device: ClassDevice, bound: Duration,
                    watcher: ChildWatcher = .shared) async -> Outcome {
        var err: [Int32] = [-1, -1]
        guard chd_pipe_cloexec(&err) == 0 else { return .failed("\(SystemCallError.last("pipe"))") }
        defer { close(err[0]) }
        let child: ChildProcess
        do {
            child = try ChildProcess(path: driverhost, arguments: ["--end-device", device.kind, device.name], stderrFD: err[1])
        } catch {
            close(err[1])
            return .failed("\(error)")
        }
        close(err[1])
        // It writes a line or two: the pipe holds them until it has exited.
        guard let status = await watcher.exit(of: child, within: bound) else {
            child.signal(SIGKILL)
            _ = await watcher.exit(of: child)
            return .failed("driverhost --end-device took longer than \(bound); killed")
        }
        guard status == .exited(0) else {
            let message = String(decoding: errorOutput(err[0]), as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            return .failed(message.isEmpty ? "\(status)" : "\(message) [\(status)]")
        }
        return .ended
    }

    /// What is in the pipe now, without waiting (a process it left behind
    /// may hold the write end open).
    private static func errorOutput(_ fd: Int32) -> [UInt8] {
        _ = chd_set_nonblocking(fd)
        var output = [UInt8](repeating: 0, count: keptOutput)
        var count = 0
        while count < keptOutput,
              let n = try? systemCall("read", { output.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, keptOutput - count) } }),
              n > 0 {
            count += n
        }
        return Array(output[..<count])
    }
}
