import CDrvHost
import DevSimClient

extension DeviceInfo {
    /// What driverhost logs once the device is open: one line with the mode,
    /// and a warning when nothing confines the device's DMA, so that a
    /// machine running in the unsafe mode says so in every driver's log.
    public var safetyReport: [(Log.Level, String)] {
        let dma = isDMAConfined ? "confined" : isDMAUnsafe ? "unsafe" : "unknown"
        let reset = hasFunctionReset ? "yes" : "no (the release program is the only safety net)"
        var lines: [(Log.Level, String)] = [(.info, "device open: DMA \(dma), reset \(reset)")]
        if isDMAUnsafe {
            lines.append((.warning, "DMA is not confined: no IOMMU stands between this device and memory "
                          + "(drvproxy's allow_unsafe_dma, kernel tainted); a bug in the plugin or the device can overwrite any memory"))
        }
        return lines
    }
}
