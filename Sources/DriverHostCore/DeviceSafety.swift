import CDrvHost

/// What INFO says about the proxy's safety guarantees for this device
/// (drvproxy ABI 2): whether an IOMMU confines its DMA, whether the function
/// has a reset method, whether bus mastering is on.
extension DeviceInfo {
    /// An IOMMU confines the device's DMA to its owner's buffers.
    public var isDMAConfined: Bool { flags & UInt32(DRVPROXY_INFO_DMA_CONFINED) != 0 }
    /// Opened in drvproxy's explicit unsafe mode: nothing confines its DMA.
    public var isDMAUnsafe: Bool { flags & UInt32(DRVPROXY_INFO_DMA_UNSAFE) != 0 }
    /// The function is reset at open and at release.
    public var hasFunctionReset: Bool { flags & UInt32(DRVPROXY_INFO_RESET) != 0 }
    public var isBusMaster: Bool { flags & UInt32(DRVPROXY_INFO_BUS_MASTER) != 0 }

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
