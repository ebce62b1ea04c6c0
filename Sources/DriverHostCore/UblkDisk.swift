import CDrvHost
import Glibc
import DrvHostSystem
import DrvHostProtocol

/// A ublk disk as /dev/ublk-control knows it: made new for a plugin's
/// geometry, or found again by name after a crash and put into recovery.
struct UblkDisk {
    let id: UInt32
    let queues: UInt16
    let depth: UInt16
    let recovered: Bool

    /// "ublkb7" -> 7.
    static func id(fromName name: String) -> UInt32? {
        guard name.hasPrefix("ublkb") else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt32(digits)
    }

    /// How long a recovery waits for the kernel to notice the previous
    /// server is gone (it refuses START_USER_RECOVERY and the opening of
    /// /dev/ublkcN with EBUSY until then).
    static let recoveryWaitNs: UInt64 = 10_000_000_000

    /// Retries `attempt` while it answers -EBUSY, until `deadline`; its
    /// last answer otherwise.
    static func whileBusy(until deadline: UInt64, _ attempt: () -> Int32) -> Int32 {
        while true {
            let result = attempt()
            guard result == -EBUSY, cdh_monotonic_ns() < deadline else { return result }
            // 1 ms: a crash's stall waits here for the old server's exit,
            // and each try is one cheap control command.
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
        }
    }

    static func recoverOrCreate(control: OpaquePointer, geometry: BlockGeometry, known: String?, log: Log) throws(HostFailure) -> UblkDisk {
        if let known {
            guard let id = id(fromName: known) else {
                throw HostFailure(.deviceClassFailed, "block class: this instance's device \"\(known)\" is not a ublk disk name like ublkb0")
            }
            if let disk = try recover(control: control, id: id, geometry: geometry, log: log) { return disk }
        }
        return try create(control: control, geometry: geometry)
    }

    private static func failure(_ id: UInt32, _ result: Int32, _ what: String) -> HostFailure {
        HostFailure(.deviceClassFailed, "block class: ublkb\(id): \(SystemCallError(-result, call: what))")
    }

    /// nil: the disk is gone (or was never started), make a new one.
    private static func recover(control: OpaquePointer, id: UInt32, geometry: BlockGeometry, log: Log) throws(HostFailure) -> UblkDisk? {
        var info = ublksrv_ctrl_dev_info()
        var result = cdh_ublk_get_info(control, id, &info)
        if result == -ENODEV {
            log(.warning, "block class: /dev/ublkb\(id) is gone; making a new disk")
            return nil
        }
        guard result >= 0 else { throw failure(id, result, "GET_DEV_INFO") }
        var params = ublk_params()
        params.len = UInt32(MemoryLayout<ublk_params>.size)
        result = cdh_ublk_get_params(control, id, &params)
        guard result >= 0 else { throw failure(id, result, "GET_PARAMS") }
        if let why = geometry.mismatch(info: info, params: params) {
            try? BlockClass.end(id: id, log: log)
            throw HostFailure(.deviceClassFailed, "block class: /dev/ublkb\(id) cannot be recovered, the plugin's geometry changed (\(why)); the disk was ended")
        }
        if info.state == UInt16(CDH_UBLK_STATE_DEAD) {
            // Made but never started (the previous driverhost died in between).
            log(.warning, "block class: /dev/ublkb\(id) was never started; making a new disk")
            try BlockClass.end(id: id, log: log)
            return nil
        }
        result = whileBusy(until: cdh_monotonic_ns() + recoveryWaitNs) { cdh_ublk_start_recovery(control, id) }
        if result == -EINVAL, cdh_ublk_get_info(control, id, &info) >= 0, info.state == UInt16(CDH_UBLK_STATE_QUIESCED) {
            // A disk made for recovery refuses it only when no queue has
            // fetched its tags since the last START_USER_RECOVERY: the
            // previous driverhost started this recovery and died before it
            // served. The kernel is waiting for exactly what comes next.
            log(.info, "block class: /dev/ublkb\(id): the recovery a previous driverhost started is taken over")
            result = 0
        }
        guard result >= 0 else {
            guard result == -EBUSY else { throw failure(id, result, "START_USER_RECOVERY") }
            // Which of the kernel's two conditions never came.
            let state = cdh_ublk_get_info(control, id, &info) >= 0 ? info.state : UInt16.max
            let why = state == UInt16(CDH_UBLK_STATE_QUIESCED)
                ? "the previous server's /dev/ublkc\(id) is still open"
                : "the kernel has not quiesced the disk since its server died (state \(state))"
            throw HostFailure(.deviceClassFailed, "block class: ublkb\(id): \(SystemCallError(EBUSY, call: "START_USER_RECOVERY")) for \(recoveryWaitNs / 1_000_000_000) s: \(why)")
        }
        return UblkDisk(id: id, queues: info.nr_hw_queues, depth: info.queue_depth, recovered: true)
    }

    private static func create(control: OpaquePointer, geometry: BlockGeometry) throws(HostFailure) -> UblkDisk {
        // ublk serves no more queues than the machine has CPUs: the buffer
        // budget is shared by the queues it will serve, not by those asked.
        let queues = min(geometry.queueCount, UInt32(max(1, sysconf(Int32(_SC_NPROCESSORS_CONF)))))
        var info = geometry.deviceInfo(queues: queues, depth: geometry.servedDepth(queues: queues))
        var result = cdh_ublk_add(control, &info)
        guard result >= 0 else {
            throw HostFailure(.deviceClassFailed, "block class: \(SystemCallError(-result, call: "ADD_DEV")) (\(info.nr_hw_queues) queues of \(info.queue_depth), \(info.max_io_buf_bytes)-byte transfers)")
        }
        var params = geometry.parameters
        result = cdh_ublk_set_params(control, info.dev_id, &params)
        guard result >= 0 else {
            _ = cdh_ublk_delete(control, info.dev_id)
            throw failure(info.dev_id, result, "SET_PARAMS")
        }
        return UblkDisk(id: info.dev_id, queues: info.nr_hw_queues, depth: info.queue_depth, recovered: false)
    }
}
