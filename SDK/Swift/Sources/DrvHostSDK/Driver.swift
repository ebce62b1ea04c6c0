/// What a Swift plugin implements: one object per attached device.
///
/// driverhost calls everything on its loop thread, one call at a time, each
/// under its watchdog: return promptly.
public protocol Driver: AnyObject {
    /// attach: set the device up, or throw to refuse it (undo your own work
    /// first: detach() is not called then). Bus mastering is off until init
    /// returns: no DMA and no MSI before then; the host turns it on after.
    init(device: Device) throws(DriverError)
    /// One device interrupt, in order.
    func interrupt(_ event: Event)
    /// Orderly shutdown only: quiet the device, free what init made. After a
    /// crash the RELEASE program stands in for it.
    func detach()
}

extension Driver {
    public func interrupt(_ event: Event) {}
    public func detach() {}
}
