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
    /// The plugin's half of an extension by id ("drvhost.block/1": a
    /// struct dh_block_plugin, drvhost/block.h), or nil. driverhost asks for
    /// each device class it serves once, after init returned and bus
    /// mastering is on; what this returns must stay valid until detach.
    /// A driver that conforms to BlockDriver or NetDriver offers that
    /// class without this; it is for other extensions.
    func pluginExtension(_ id: String) -> UnsafeRawPointer?
}

extension Driver {
    public func interrupt(_ event: Event) {}
    public func timer(_ id: Int) {}
    public func detach() {}
    public func pluginExtension(_ id: String) -> UnsafeRawPointer? { nil }
}
