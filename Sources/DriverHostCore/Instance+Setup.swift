import CDrvHost
import DrvHostSystem
import DrvHostProtocol

/// Device setup: the programs, the interrupt mode and the BAR mappings,
/// before attach.
extension Instance {
    /// Programs, IRQ mode and BAR mappings, in that order: the ACK program must
    /// be in place before the first interrupt can arrive.
    public func setUpDevice() throws(HostFailure) {
        let raw = descriptor.raw
        func setupFailed(_ what: String, _ error: SystemCallError) -> HostFailure {
            HostFailure(.deviceSetupFailed, "\(what): \(error)")
        }
        if !descriptor.releaseProgram.isEmpty {
            try descriptor.releaseProgram.withUnsafeBufferPointer { program throws(HostFailure) in
                try device.install(.release, program, flags: raw.release_flags)
            }
        }
        try setInterrupts()
        for index in 0..<Int(DH_NUM_BARS) where barSizes[index] > 0 {
            do {
                barBases[index] = try device.mapBAR(index)
            } catch {
                throw setupFailed("cannot map BAR\(index)", error)
            }
        }
    }

    /// The first mode of the plan that the device takes; its ACK program
    /// first, when the step has one, so that it is there before the first
    /// interrupt.
    private func setInterrupts() throws(HostFailure) {
        let raw = descriptor.raw
        let plan = InterruptPlan(declared: raw.irq_mode, vectors: raw.msix_vectors, forced: forcedIRQMode,
                                 hasAck: !descriptor.ackProgram.isEmpty, ackModes: descriptor.raw.ack_modes,
                                 device: device.info)
        var refused: [String] = []
        for step in plan.steps {
            if step.withAck {
                try descriptor.ackProgram.withUnsafeBufferPointer { program throws(HostFailure) in
                    try device.install(.ack, program, flags: 0)
                }
            }
            do {
                try device.setInterruptMode(step.mode, vectors: step.vectors)
            } catch {
                refused.append("\(InterruptPlan.name(of: step.mode)): \(error)")
                continue
            }
            irqMode = step.mode
            irqVectors = step.vectors
            if step.mode != raw.irq_mode || (step.mode == DH_IRQ_MSIX.rawValue && step.vectors != raw.msix_vectors) {
                let why = forcedIRQMode != nil ? "forced by --irq-mode" : refused.isEmpty ? "what the device offers" : "refused: " + refused.joined(separator: "; ")
                log(.info, "plugin \(descriptor.name): interrupts \(InterruptPlan.name(of: step.mode))"
                    + (step.mode == DH_IRQ_MSIX.rawValue ? " with \(step.vectors) vectors" : "")
                    + " instead of \(InterruptPlan.name(of: raw.irq_mode)) (\(why))")
            }
            return
        }
        throw HostFailure(.deviceSetupFailed, "cannot set an interrupt mode for plugin \(descriptor.name) ("
                          + (refused.isEmpty ? "the device offers none it can use" : refused.joined(separator: "; ")) + ")")
    }
}
