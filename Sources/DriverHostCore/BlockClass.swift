import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// "drvhost.block/1": the plugin's device as a Linux block device,
/// /dev/ublkbN, served through ublk (ublk_drv, Linux 6.x).
///
/// The disk is made with UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE
/// so that it outlives this process: when the driverhost dies, the kernel
/// holds the disk's I/O (requests in flight are queued again), and the
/// instance's next driverhost, given the disk's name (`known`), checks the
/// plugin's geometry and recovers it (START_USER_RECOVERY, fetch every tag,
/// END_USER_RECOVERY). Only the supervisor ends the disk (`end`).
///
/// Requests come and go on one io_uring, served from the instance's event
/// loop (BlockIO.swift); the control ring's fd is watched too, for the
/// START_DEV or END_USER_RECOVERY that is answered once the loop serves I/O.
final class BlockClass: DeviceClassServer {
    static let extensionID = DH_BLOCK_EXTENSION
    static let kind = "block"
    static let unavailable = "ublk_drv is not available: the block class needs Linux >= 6.x with ublk_drv loaded"

    let deviceName: String
    var hostHalf: UnsafeRawPointer { UnsafeRawPointer(host) }

    unowned(unsafe) let instance: Instance
    let geometry: BlockGeometry
    let deviceID: UInt32
    let queues: UInt16
    let depth: UInt16
    let buffers: BlockBuffers
    let submitFunction: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<dh_block_request>?) -> Int32
    /// dh_block_device.submitted, if the plugin has it: called once after
    /// each batch of submit calls.
    let submittedFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    let submitBound: CallbackWatchdog.Bound
    let submittedBound: CallbackWatchdog.Bound
    private let host: UnsafeMutablePointer<dh_block_host>
    private var control: OpaquePointer?
    var server: OpaquePointer?
    /// Per (queue, tag), at queue * depth + tag: where the request is, and
    /// the request the plugin is given (valid until it completes it).
    let states: UnsafeMutablePointer<TagState>
    let requests: UnsafeMutablePointer<dh_block_request>
    var stopped = false
    /// When the class began (the plugin attached), and where its first
    /// steps' time went: logged once the disk serves, so that a slow
    /// recovery says what it waited for.
    private let begun: UInt64
    private var steps = ""

    enum TagState: UInt8 {
        case kernel       // a FETCH or COMMIT_AND_FETCH is waiting for a request
        case plugin       // submitted: the plugin owns it until complete()
        case gone         // the kernel aborted the tag (disk stopped)
    }

    init(instance: Instance, pluginHalf: UnsafeRawPointer, known: String?) throws(HostFailure) {
        begun = cdh_monotonic_ns()
        self.instance = instance
        let plugin = instance.descriptor.name
        geometry = try BlockGeometry(pluginHalf: pluginHalf, plugin: plugin)
        let half = BlockGeometry.load(pluginHalf)
        submitFunction = half.submit!
        submittedFunction = half.submitted
        submitBound = .init(nanoseconds: instance.callbackBound.nanoseconds, what: "block submit()")
        submittedBound = .init(nanoseconds: instance.callbackBound.nanoseconds, what: "block submitted()")

        var err: Int32 = 0
        guard let control = cdh_ublk_control_open(&err) else {
            if err == -ENOENT { throw HostFailure(.deviceClassFailed, BlockClass.unavailable) }
            throw HostFailure(.deviceClassFailed, "block class: /dev/ublk-control: \(SystemCallError(-err, call: "open"))")
        }
        self.control = control
        let disk: UblkDisk
        do {
            disk = try UblkDisk.recoverOrCreate(control: control, geometry: geometry, known: known, log: instance.log)
        } catch {
            cdh_ublk_control_close(control)
            throw error
        }
        let diskReady = cdh_monotonic_ns()
        deviceID = disk.id
        queues = disk.queues
        depth = disk.depth
        deviceName = "ublkb\(disk.id)"
        let slots = Int(queues) * Int(depth)
        do {
            buffers = try BlockBuffers(instance: instance, slots: slots, slotSize: geometry.maxTransfer)
        } catch {
            cdh_ublk_control_close(control)
            if !disk.recovered { try? BlockClass.end(id: disk.id, log: instance.log) }
            throw error
        }
        steps = "\(disk.recovered ? "recovery started" : "disk made") after \(BlockClass.ms(diskReady - begun)), I/O buffers \(BlockClass.ms(cdh_monotonic_ns() - diskReady))"
        states = .allocate(capacity: slots)
        states.initialize(repeating: .kernel, count: slots)
        requests = .allocate(capacity: slots)
        requests.initialize(repeating: dh_block_request(), count: slots)
        host = .allocate(capacity: 1)
        host.initialize(to: dh_block_host(struct_size: UInt32(MemoryLayout<dh_block_host>.size), reserved: 0,
                                          complete: BlockClass.completeEntry,
                                          flags: UInt32(DH_BLOCK_HOST_F_SUBMITTED), reserved2: 0))
        do {
            try serve(disk)
        } catch {
            // deinit closes what serve opened.
            if !disk.recovered { try? BlockClass.end(id: disk.id, log: instance.log) }
            throw error
        }
        instance.log(.info, "block class: /dev/\(deviceName): \(geometry.capacity) blocks of \(geometry.logicalBlockSize) bytes, \(queues) queue(s) of \(depth), \(disk.recovered ? "recovered" : "new"), \(buffers.bounced ? "bounce copies (the DMA mapping cannot be pinned)" : "no copy in user space")")
    }

    deinit {
        close()
        states.deallocate()
        requests.deallocate()
        host.deallocate()
    }

    /// Opens the server side, hands the kernel every tag, maps the request
    /// descriptors (in this order: see cdh_ublk_server_map), and asks for
    /// the disk to start (or recovery to end): the kernel answers that only
    /// once the loop serves I/O (START_DEV reads the partition table).
    private func serve(_ disk: UblkDisk) throws(HostFailure) {
        var err: Int32 = 0
        // A dead server's ring may hold /dev/ublkcN a little longer.
        let opened = UblkDisk.whileBusy(until: cdh_monotonic_ns() + UblkDisk.recoveryWaitNs) {
            self.server = cdh_ublk_server_open(deviceID, queues, depth, &err)
            return self.server == nil ? err : 0
        }
        guard let server, opened == 0 else {
            throw HostFailure(.deviceClassFailed, "block class: /dev/ublkc\(deviceID): \(SystemCallError(-opened, call: "open"))")
        }
        let loop = instance.loop!
        do {
            // unowned(unsafe): close() removes these before the class goes,
            // and a checked unowned reference costs two atomics per call.
            try loop.addClassSource(cdh_ublk_server_ring_fd(server)) { [unowned(unsafe) self] in self.serveCompletions() }
            try loop.addClassSource(cdh_ublk_control_ring_fd(control)) { [unowned self] in self.controlAnswered(recovered: disk.recovered) }
        } catch {
            throw HostFailure(.deviceClassFailed, "block class: \(error)")
        }
        for queue in 0..<queues {
            for tag in 0..<depth { _ = cdh_ublk_fetch(server, queue, tag, buffers.ublk[Int(queue) * Int(depth) + Int(tag)]) }
        }
        try check(cdh_ublk_submit(server), "io_uring_enter (fetch)")
        try check(cdh_ublk_server_map(server), "mmap (request descriptors)")
        try check(disk.recovered ? cdh_ublk_end_recovery_async(control, deviceID, getpid())
                                 : cdh_ublk_start_async(control, deviceID, getpid()),
                  disk.recovered ? "END_USER_RECOVERY" : "START_DEV")
        loop.afterBatch = { [unowned(unsafe) self] in self.submitQueued() }
    }

    private func check(_ result: Int32, _ what: String) throws(HostFailure) {
        guard result >= 0 else { throw HostFailure(.deviceClassFailed, "block class: /dev/\(deviceName): \(SystemCallError(-result, call: what))") }
    }

    /// START_DEV or END_USER_RECOVERY answered. A disk that cannot start is
    /// useless to this instance: exit as a class failure (the supervisor
    /// gives up and ends the disk) rather than run without it.
    private func controlAnswered(recovered: Bool) -> UInt64 {
        guard let control else { return 0 }
        var result: Int32 = 0
        guard cdh_ublk_control_reap(control, &result) == 1 else { return 0 }
        let what = recovered ? "END_USER_RECOVERY" : "START_DEV"
        if result < 0 {
            instance.log(.error, "block class: /dev/\(deviceName): \(SystemCallError(-result, call: what))")
            exit(ExitCode.deviceClassFailed.rawValue)
        }
        // From a standby, also when its start came (monotonic clock): with
        // the time of a crash, that splits a recovery into the kernel's
        // release and the supervisor (crash to start), the plugin's attach
        // (start to begun) and the class's own part.
        let start = Standby.startedNs.map { "; the standby's start came \(BlockClass.ms(begun - $0)) before the attach ended, at \($0 / 1_000_000) ms on the monotonic clock" } ?? ""
        instance.log(.info, "block class: /dev/\(deviceName) \(recovered ? "recovered" : "started") \(BlockClass.ms(cdh_monotonic_ns() - begun)) after the plugin's attach (\(steps))\(start)")
        return 0
    }

    static func ms(_ ns: UInt64) -> String { "\(ns / 1_000_000) ms" }

    /// Orderly detach: no more requests to the plugin. Closing the ring and
    /// /dev/ublkcN gives the tags back; the kernel holds the disk's I/O for
    /// the next driverhost (or the supervisor's end).
    func stop() {
        stopped = true
        close()
    }

    private func close() {
        // After stop() there is nothing left, and deinit may run while the
        // instance itself is going away: do not touch it then.
        guard server != nil || control != nil else { return }
        let loop = instance.loop!
        if let server {
            loop.removeClassSource(cdh_ublk_server_ring_fd(server))
            cdh_ublk_server_close(server)
            self.server = nil
        }
        if let control {
            loop.removeClassSource(cdh_ublk_control_ring_fd(control))
            cdh_ublk_control_close(control)
            self.control = nil
        }
        loop.afterBatch = nil
    }

    /// `driverhost --end-device block ublkbN`: stop the disk (its held and
    /// new I/O fail) and delete it. A disk that is gone already is fine.
    static func end(name: String) throws(HostFailure) {
        guard let id = UblkDisk.id(fromName: name) else {
            throw HostFailure(.usage, "block class: \"\(name)\" is not a ublk disk name like ublkb0")
        }
        try end(id: id, log: nil)
    }

    static func end(id: UInt32, log: Log?) throws(HostFailure) {
        var err: Int32 = 0
        guard let control = cdh_ublk_control_open(&err) else {
            // Without ublk_drv there is no disk to end.
            if err == -ENOENT { return }
            throw HostFailure(.deviceClassFailed, "block class: /dev/ublk-control: \(SystemCallError(-err, call: "open"))")
        }
        defer { cdh_ublk_control_close(control) }
        func check(_ result: Int32, _ what: String) throws(HostFailure) -> Bool {
            if result == -ENODEV { return false }
            guard result >= 0 else { throw HostFailure(.deviceClassFailed, "block class: ublkb\(id): \(SystemCallError(-result, call: what))") }
            return true
        }
        guard try check(cdh_ublk_stop(control, id), "STOP_DEV"), try check(cdh_ublk_delete(control, id), "DEL_DEV") else { return }
        log?(.info, "block class: /dev/ublkb\(id) ended")
    }
}
