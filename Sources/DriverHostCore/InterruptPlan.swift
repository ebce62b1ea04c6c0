import CDrvHost
import DevSimClient

/// Which interrupt modes driverhost tries for a plugin, in order. A plugin
/// that declares MSI or MSI-X gets a fallback when the device or the
/// platform cannot give it: MSI-X with as many vectors as the device has,
/// then MSI, then INTx with the INTx-disable bit, then a shared INTx line
/// with the plugin's ACK program (plugin.h, dh_plugin.irq_mode). A plugin
/// that declares an INTx mode or none gets exactly that. `--irq-mode`
/// forces one mode (a platform whose MSI is broken; tests of a plugin's
/// fallback paths), without fallback.
struct InterruptPlan: Equatable {
    struct Step: Equatable {
        var mode: UInt32
        var vectors: UInt32
        /// Install the plugin's ACK program for this step.
        var withAck: Bool
    }

    var steps: [Step]

    /// `ackModes`: dh_plugin.ack_modes, the modes the ACK program serves
    /// (0: every mode).
    init(declared: UInt32, vectors: UInt32, forced: UInt32? = nil, hasAck: Bool, ackModes: UInt32 = 0, device: DeviceInfo) {
        let declaresMessages = declared == DH_IRQ_MSI.rawValue || declared == DH_IRQ_MSIX.rawValue
        // The ACK program runs in every mode (it snapshots a read-to-clear
        // cause register for MSI too), unless the plugin names fewer: an
        // NVMe controller's INTMS, say, is undefined under MSI-X.
        func step(_ mode: dh_irq_mode, _ count: UInt32 = 1) -> Step {
            Step(mode: mode.rawValue, vectors: count,
                 withAck: hasAck && (ackModes == 0 || ackModes & (1 << mode.rawValue) != 0))
        }
        let kinds = device.irqKinds
        // A device that does not say how many vectors it has (devsim) is
        // taken to have what the plugin asks for.
        let msixVectors = device.msixVectors > 0 ? min(max(vectors, 1), device.msixVectors) : max(vectors, 1)
        if let forced {
            let count = forced == DH_IRQ_MSIX.rawValue ? msixVectors : 1
            steps = [step(dh_irq_mode(rawValue: forced), count)]
            return
        }
        guard declaresMessages else {
            steps = [step(dh_irq_mode(rawValue: declared), max(vectors, 1))]
            return
        }
        var steps: [Step] = []
        if declared == DH_IRQ_MSIX.rawValue, kinds & UInt32(DRVPROXY_IRQ_KIND_MSIX) != 0 {
            steps.append(step(DH_IRQ_MSIX, msixVectors))
        }
        if kinds & UInt32(DRVPROXY_IRQ_KIND_MSI) != 0 { steps.append(step(DH_IRQ_MSI)) }
        if kinds & UInt32(DRVPROXY_IRQ_KIND_INTX) != 0 {
            if device.flags & UInt32(DRVPROXY_INFO_INTX_DISABLE) != 0 { steps.append(step(DH_IRQ_INTX_DISABLE)) }
            if hasAck { steps.append(step(DH_IRQ_INTX_SHARED)) }
        }
        self.steps = steps
    }

    /// "--irq-mode" names.
    static let modeNames: [(String, dh_irq_mode)] = [
        ("msix", DH_IRQ_MSIX), ("msi", DH_IRQ_MSI), ("intx-disable", DH_IRQ_INTX_DISABLE), ("intx-shared", DH_IRQ_INTX_SHARED),
    ]

    static func name(of mode: UInt32) -> String {
        modeNames.first { $0.1.rawValue == mode }?.0 ?? (mode == DH_IRQ_NONE.rawValue ? "none" : "mode \(mode)")
    }
}
