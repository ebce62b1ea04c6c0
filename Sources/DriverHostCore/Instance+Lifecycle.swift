import CDrvHost
import DrvHostProtocol

/// Attach and detach: the plugin's start and end on this device, and bus
/// mastering, which only an attached plugin may have.
extension Instance {
    public func attach() throws(HostFailure) {
        var context: UnsafeMutableRawPointer?
        let attach = descriptor.raw.attach!
        let host = UnsafePointer(hostTable)
        inAttach = true
        let result = timed(CDH_CALLBACK_ATTACH) { watchdog.guarding(attachBound) { attach(host, handle, &context) } }
        inAttach = false
        guard result == DH_OK else {
            // The device may have been mastering the bus: stop it before
            // its buffers go.
            if busMasterEarly { try? device.setBusMaster(false) }
            freeAllDMA()
            throw HostFailure(.attachFailed, "plugin \(descriptor.name): attach failed (\(HostTable.errorName(result)))")
        }
        self.context = context
        isAttached = true
        // Only now may the device master the bus (DMA, MSI): the proxy
        // reset it at open and left bus mastering off, so a device that a
        // crashed driver left running cannot write memory until the plugin
        // has set it up again. Not on a device that reported an error.
        guard !loop.hasDeviceError else { return }
        do {
            try device.setBusMaster(true)
        } catch {
            detach()
            throw HostFailure(.deviceSetupFailed, "cannot turn bus mastering on: \(error)")
        }
    }

    /// dh_host.enable_bus_master: the plugin says its device is set up
    /// and may master the bus before attach returns (see plugin.h).
    func enableBusMasterInAttach() -> Int32 {
        guard inAttach else { return DH_ERR_STATE }
        guard !loop.hasDeviceError else { return DH_ERR_IO }
        do {
            try device.setBusMaster(true)
            busMasterEarly = true
            return DH_OK
        } catch {
            log(.warning, "plugin \(descriptor.name): cannot turn bus mastering on: \(error)")
            return DH_ERR_IO
        }
    }

    public func detach() {
        guard isAttached else { return }
        isAttached = false
        // After a device error the plugin is not called again: as after a
        // crash, the release program stands in for detach, and closing the
        // handle frees the rest.
        classServer?.stop()
        guard !loop.hasDeviceError else { return }
        let detach = descriptor.raw.detach!
        let context = self.context
        timed(CDH_CALLBACK_DETACH) { watchdog.guarding(detachBound) { detach(context) } }
        for id in 0..<timers.count { stopTimer(UInt32(id)) }
        freeAllDMA()
    }
}
