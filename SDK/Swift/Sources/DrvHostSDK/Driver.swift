/// What a Swift plugin implements: one object per attached device.
///
/// driverhost calls everything on its loop thread, one call at a time, each
/// under its watchdog: return promptly (plugin.h states the bounds).
public protocol Driver: AnyObject {
    /// attach: set the device up, or throw to refuse it (undo your own work
    /// first: detach() is not called then). Bus mastering is off until init
    /// returns: no DMA and no MSI before then; the host turns it on after.
    init(device: Device) throws(DriverError)
    /// One device interrupt, in order (for MSI-X, `event.vector` says which).
    func interrupt(_ event: Event)
    /// Timer `id` (started with `Device.startTimer`) expired; missed
    /// periods are coalesced into one call.
    func timer(_ id: Int)
    /// Orderly shutdown only: quiet the device, free what init made. After a
    /// crash the RELEASE program stands in for it.
    func detach()
}

extension Driver {
    public func interrupt(_ event: Event) {}
    public func timer(_ id: Int) {}
    public func detach() {}
}
