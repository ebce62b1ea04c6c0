import CDrvHost
import DrvHostSystem
import Glibc
import DrvHostProtocol

/// The net device class ("drvhost.net/1", SDK/include/drvhost/net.h): the
/// plugin's NIC served as a persistent TAP interface. Frames the kernel
/// sends come from the TAP queues (registered with the event loop) and go
/// to the plugin's transmit in batches; frames the plugin receives are
/// checked and written to the interface; the plugin's link state is the
/// interface's carrier. Everything runs on the loop thread.
///
/// The interface outlives this driverhost (TUNSETPERSIST), and so do its
/// queues: the supervisor takes this process's queue descriptors ("queues"
/// message, pidfd_getfd) and keeps them, so a crash detaches nothing (no
/// RCU grace period in the kernel's release). It turns the carrier off when
/// the process ends and hands the same queues to the next driverhost of the
/// instance with its "start" (`handedQueues`); the plugin's set_link turns
/// the carrier on. Without handed queues (no standby, or a supervisor that
/// restarted after the crash) the queues are attached again by name
/// (`known`). TCP sees a pause, not a reset.
///
/// The carrier across a restart: the supervisor leaves it on for a grace
/// period (hostd.toml [net] carrier_grace_ms) and hands what is left of it
/// over with "start". A carrier that goes off makes the kernel drop what
/// TCP sends meanwhile, and TCP's retransmission timer, not the restart,
/// then decides when data move again. Until the grace ends a "link down"
/// from the new plugin (a NIC just reset is often down until its link
/// comes back) leaves the carrier on; if the link is not up by then, the
/// carrier goes off.
final class NetClass: DeviceClassServer {
    static let extensionID = DH_NET_EXTENSION
    static let kind = "net"
    /// How a new interface is named (driverhost --net-name); `known` wins.
    nonisolated(unsafe) static var namePattern = NetInterfaceName.defaultPattern
    /// The queues the supervisor handed over with "start" (Standby), for
    /// this process's one NetClass to adopt instead of attaching anew.
    nonisolated(unsafe) static var handedQueues: [Descriptor] = []
    /// With them: how much longer the supervisor's grace keeps the carrier.
    nonisolated(unsafe) static var handedCarrierGraceMs: UInt32?

    unowned let instance: Instance
    let device: NetDeviceDescription
    let deviceName: String
    private var queues: [NetTransmitQueue] = []
    private let hostTable: UnsafeMutablePointer<dh_net_host>
    private(set) var netCounters: NetCounters
    private var linkUp = false
    /// While the supervisor's carrier grace runs: its timer (one-shot timerfd).
    private var carrierGrace: Descriptor?
    private var stopped = false
    private var reportedTransmitOvercount = false
    private let transmitBound: CallbackWatchdog.Bound

    var hostHalf: UnsafeRawPointer { UnsafeRawPointer(hostTable) }

    init(instance: Instance, pluginHalf: UnsafeRawPointer, known: String?) throws(HostFailure) {
        self.instance = instance
        let plugin = instance.descriptor.name
        device = try NetDeviceDescription(pluginHalf, plugin: plugin)
        netCounters = NetCounters(queues: device.queueCount)
        let name = known ?? NetInterfaceName.make(pattern: NetClass.namePattern, plugin: plugin, identity: instance.identity)
        if let problem = NetInterfaceName.problem(name) { throw HostFailure(.deviceClassFailed, problem) }
        deviceName = name
        transmitBound = .init(nanoseconds: instance.callbackBound.nanoseconds, what: "transmit()")
        hostTable = .allocate(capacity: 1)
        hostTable.initialize(to: NetClass.makeHostTable())
        try attachInterface(known: known != nil)
    }

    deinit {
        hostTable.deallocate()
    }

    /// Creates the interface (first attach) or attaches to the one this
    /// instance had (after a crash or restart), then registers its queues.
    private func attachInterface(known: Bool) throws(HostFailure) {
        let name = deviceName
        let multiQueue = device.queueCount > 1
        // How long the kernel takes to hand the queues over is part of
        // every restart's outage: logged with the attach.
        let began = cdh_monotonic_ns()
        let handed = NetClass.handedQueues
        let graceMs = NetClass.handedCarrierGraceMs ?? 0
        NetClass.handedQueues = []
        NetClass.handedCarrierGraceMs = nil
        // Queues hostd kept are attached to this instance's interface (it
        // took them from its previous driverhost, which made or checked
        // it): nothing to look up or attach, and hostd turned the carrier
        // off. A restart runs this in a fresh process, where every system
        // call and code path costs the TCG guest its first run.
        let adopting = known && handed.count == device.queueCount
        let existed = adopting || TAPInterface.exists(name)
        if existed && !adopting {
            // A name in use by something else is never taken over: only
            // the interface hostd says is this instance's.
            guard known else {
                throw HostFailure(.deviceClassFailed, "interface \(name) already exists and is not this instance's: remove it or name this one otherwise (hostd.toml [net] interface_name)")
            }
            guard let flags = TAPInterface.flags(name), flags.isTAP else {
                throw HostFailure(.deviceClassFailed, "interface \(name) exists and is not a TAP interface")
            }
            guard flags.multiQueue == multiQueue else {
                throw HostFailure(.deviceClassFailed, "interface \(name) was made with \(flags.multiQueue ? "several queues" : "one queue"), the device now has \(device.queueCount): end it first (driverhost --end-device net \(name))")
            }
        }
        if !adopting, !handed.isEmpty {
            // Another plugin version may have another queue count: the
            // queues are attached anew and the supervisor, told of them,
            // lets the old ones go.
            if existed {
                instance.log(.warning, "net: the supervisor kept \(handed.count) queue(s) of \(name), the device has \(device.queueCount): attaching anew")
            }
            handed.forEach { $0.close() }
        }
        do {
            let taps = adopting ? handed : try TAPInterface.attachQueues(name, count: device.queueCount)
            for (index, tap) in taps.enumerated() {
                queues.append(NetTransmitQueue(index: UInt32(index), tap: tap, maxFrame: device.maxFrame))
            }
            if !existed {
                try TAPInterface.setPersistent(taps[0], true)
                try TAPInterface.setMAC(taps[0], device.mac)
                try TAPInterface.setMTU(name, device.mtu)
                try TAPInterface.setTransmitQueueLength(name, TAPInterface.transmitQueueFrames)
            }
            // The link is down until the plugin says otherwise (attaching
            // leaves the carrier off since Linux 6.0, IFF_NO_CARRIER in
            // tap.c; before, it turned it on), unless the supervisor's
            // carrier grace still runs for these queues.
            if adopting && graceMs > 0 {
                try keepCarrier(forMs: graceMs)
            } else {
                try TAPInterface.setCarrier(taps[0], false)
            }
            for queue in queues {
                let index = Int(queue.index)
                queue.token = try instance.loop.addClassSource(queue.tap.raw) { [unowned self] in self.transmitReadable(index) }
            }
        } catch {
            // Nothing half-done: an interface made here goes again.
            if !existed, let first = queues.first { try? TAPInterface.setPersistent(first.tap, false) }
            queues.removeAll()
            throw HostFailure(.deviceClassFailed, "interface \(name): \(error)")
        }
        let took = Log.milliseconds(since: began)
        // This runs before the link is up, on every restart, in a process
        // that runs this code for the first time (which the TCG guest pays
        // for in milliseconds): nothing formatted that the message does
        // not show.
        if adopting {
            instance.log(.info, "net: took over the \(device.queueCount) queue(s) of interface \(name) (\(took) ms)")
        } else if existed {
            instance.log(.info, "net: attached the \(device.queueCount) queue(s) of interface \(name) again (\(took) ms)")
        } else {
            let mac = NetDeviceDescription.format(device.mac)
            instance.log(.info, "net: created interface \(name), MAC \(mac), MTU \(device.mtu), \(device.queueCount) queue(s), \(took) ms")
        }
    }

    var queueDescriptors: [Int32] { queues.map { $0.tap.raw } }

    /// Orderly detach: this process's queue descriptors go (the queues
    /// themselves stay while the supervisor keeps them), the interface stays
    /// for the instance's next driverhost or for hostd to end.
    func stop() {
        guard !stopped else { return }
        stopped = true
        endCarrierGrace()
        instance.log(.info, "net: \(deviceName): \(netCounters.text)")
        for queue in queues {
            if !queue.paused { try? instance.loop.pauseClassSource(queue.tap.raw) }
            queue.tap.close()
        }
    }

    static func end(name: String) throws(HostFailure) {
        try TAPInterface.remove(name)
    }

    // MARK: Transmit: TAP -> plugin

    private func transmitReadable(_ index: Int) {
        let queue = queues[index]
        guard !stopped, !queue.paused else { return }
        // Inside a plugin callback (a command's wait_events) the plugin is
        // not called again for this: the queue waits for the main loop.
        if instance.watchdog.isInsideCallback {
            pause(queue)
            scheduleResume(queue)
            return
        }
        // A few batches per wake-up, while they come full and the plugin
        // takes them all. A short batch either ran dry (read() said EAGAIN)
        // or read what the queue's last batches held (NetTransmitQueue's
        // readLimit): what is left, if anything, keeps the queue readable
        // for the loop's next round, without an empty read to find out.
        for _ in 0..<4 {
            do {
                try queue.fill(maxFrame: device.maxFrame, oversized: &netCounters.txOversized)
            } catch {
                instance.log(.error, "net: \(error)")
                return
            }
            let full = queue.pending == NetTransmitQueue.batch
            guard queue.pending > 0, offer(queue), full else { return }
        }
    }

    /// Offers the queue's pending frames; false if the ring filled up.
    private func offer(_ queue: NetTransmitQueue) -> Bool {
        let transmit = device.transmit
        let context = instance.context
        while queue.pending > 0 {
            let offered = queue.pending
            let frames = UnsafePointer(queue.frames + queue.first)
            let index = queue.index
            instance.inEventCallback = true
            var taken = Int(instance.watchdog.guarding(transmitBound) { transmit(context, index, frames, UInt32(offered)) })
            instance.inEventCallback = false
            if taken > offered {
                if !reportedTransmitOvercount {
                    reportedTransmitOvercount = true
                    instance.log(.error, "plugin \(instance.descriptor.name): transmit took \(taken) of \(offered) frames (reported once)")
                }
                taken = offered
            }
            let (frameCount, bytes) = queue.consume(taken)
            netCounters.txFrames += UInt64(frameCount)
            netCounters.txQueueFrames[Int(index)] += UInt64(frameCount)
            netCounters.txBytes += bytes
            if taken < offered {
                netCounters.txRingFull += 1
                pause(queue)
                return false
            }
        }
        return true
    }

    private func pause(_ queue: NetTransmitQueue) {
        guard !queue.paused else { return }
        queue.paused = true
        try? instance.loop.pauseClassSource(queue.tap.raw)
    }

    private func scheduleResume(_ queue: NetTransmitQueue) {
        guard !queue.resumeScheduled else { return }
        queue.resumeScheduled = true
        instance.loop.runSoon { [unowned self] in self.resume(queue) }
    }

    /// After transmit_ready (or a nested wait): offer what waits, then
    /// watch the queue again if the plugin took it all.
    private func resume(_ queue: NetTransmitQueue) {
        queue.resumeScheduled = false
        guard !stopped, queue.paused else { return }
        guard queue.pending == 0 || offer(queue) else { return }
        queue.paused = false
        do {
            try instance.loop.resumeClassSource(queue.tap.raw, token: queue.token)
        } catch {
            instance.log(.error, "net: cannot watch queue \(queue.index) again: \(error)")
        }
    }

    // MARK: The host's half, called by the plugin

    func receive(_ queue: UInt32, _ frames: UnsafePointer<dh_net_frame>?, _ count: UInt32) -> UInt32 {
        guard let frames, count > 0 else { return 0 }
        guard !stopped, Int(queue) < queues.count else {
            netCounters.rxMalformed += UInt64(count)
            return 0
        }
        let fd = queues[Int(queue)].tap.raw
        var delivered: UInt32 = 0
        for i in 0..<Int(count) {
            let frame = frames[i]
            let length = Int(frame.length)
            guard let data = frame.data, isWellFormed(data, length) else {
                netCounters.rxMalformed += 1
                continue
            }
            // One write is one frame; tun never blocks a writer. EIO: the
            // interface is down, and frames to a downed interface go nowhere.
            if Glibc.write(fd, data, length) == length {
                delivered += 1
                netCounters.rxFrames += 1
                netCounters.rxQueueFrames[Int(queue)] += 1
                netCounters.rxBytes += UInt64(length)
            } else {
                netCounters.rxRefused += 1
            }
        }
        return delivered
    }

    private func isWellFormed(_ data: UnsafeRawPointer, _ length: Int) -> Bool {
        guard length >= 14 else { return false }
        if length <= device.maxUntaggedFrame { return true }
        // A VLAN tag (TPID 0x8100 after the addresses) may add 4 bytes.
        return length <= device.maxFrame && data.load(fromByteOffset: 12, as: UInt8.self) == 0x81
            && data.load(fromByteOffset: 13, as: UInt8.self) == 0x00
    }

    func setLink(_ up: Bool) {
        guard !stopped else { return }
        if up != linkUp { netCounters.linkChanges += 1 }
        linkUp = up
        netCounters.carrier = up ? 1 : 0
        if up {
            endCarrierGrace()
        } else if carrierGrace != nil {
            instance.log(.info, "net: \(deviceName): link down; the carrier stays on until the restart's grace ends")
            return
        }
        do {
            try TAPInterface.setCarrier(queues[0].tap, up)
            instance.log(.info, "net: \(deviceName): link \(up ? "up" : "down")")
        } catch {
            instance.log(.error, "net: \(deviceName): cannot set the carrier: \(error)")
        }
    }

    /// The carrier the supervisor kept on stays on for `ms` more, or until
    /// the plugin says the link is up.
    private func keepCarrier(forMs ms: UInt32) throws(SystemCallError) {
        let timer = Descriptor(taking: try systemCall("timerfd_create") { cdh_timerfd_create() })
        _ = try systemCall("timerfd_settime") { cdh_timerfd_set(timer.raw, UInt64(ms) * 1_000_000, 0) }
        try instance.loop.addClassSource(timer.raw, readable: { [unowned self] in self.carrierGraceEnded() })
        carrierGrace = timer
    }

    private func carrierGraceEnded() {
        endCarrierGrace()
        guard !linkUp, !stopped else { return }
        do {
            try TAPInterface.setCarrier(queues[0].tap, false)
            instance.log(.warning, "net: \(deviceName): the link did not come up within the restart's carrier grace: carrier off")
        } catch {
            instance.log(.error, "net: \(deviceName): cannot set the carrier: \(error)")
        }
    }

    private func endCarrierGrace() {
        guard let timer = carrierGrace else { return }
        carrierGrace = nil
        instance.loop.removeClassSource(timer.raw)
        timer.close()
    }

    func transmitReady(_ queue: UInt32) {
        guard !stopped, Int(queue) < queues.count else { return }
        let queue = queues[Int(queue)]
        guard queue.paused else { return }
        scheduleResume(queue)
    }

    /// With the loop's epoll_waits, beside the frame counts the system calls
    /// a frame costs (bench 62): as of the frame counts' last change, so
    /// that an idle loop (its heartbeats, this report's own timer) changes
    /// nothing and sends no report.
    var counters: [(name: String, value: UInt64)] {
        let frames = netCounters.rxFrames &+ netCounters.txFrames
        if frames != framesAtWaits {
            framesAtWaits = frames
            waitsAtFrames = instance.loop.waits
        }
        return netCounters.list + [("loop_waits", waitsAtFrames)]
    }
    private var framesAtWaits: UInt64 = .max
    private var waitsAtFrames: UInt64 = 0

    // MARK: From a plugin's handle to its server

    /// The server behind a plugin's handle: `invalid` for a handle that is
    /// not live or an instance that serves no net device.
    static func serving<R>(_ handle: OpaquePointer?, invalid: R, _ body: (NetClass) -> R) -> R {
        Instance.with(handle, invalid: invalid) { instance in
            guard let server = instance.classServer as? NetClass else { return invalid }
            return body(server)
        }
    }

    private static func makeHostTable() -> dh_net_host {
        var host = dh_net_host()
        host.struct_size = UInt32(MemoryLayout<dh_net_host>.size)
        host.receive = { inst, queue, frames, count in
            NetClass.serving(inst, invalid: 0) { $0.receive(queue, frames, count) }
        }
        host.set_link = { inst, up in NetClass.serving(inst, invalid: ()) { $0.setLink(up != 0) } }
        host.transmit_ready = { inst, queue in NetClass.serving(inst, invalid: ()) { $0.transmitReady(queue) } }
        return host
    }
}
