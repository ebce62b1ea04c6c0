/// The host's caps on the watchdog bounds a plugin declares. A plugin may
/// declare any attach_timeout_ms or callback_timeout_ms up to UINT32_MAX
/// (49 days): without a cap, one that declares a huge bound and spins in a
/// callback would hold its device forever. The bound in force is the
/// declared one (or the default for 0), never more than the cap; the
/// supervisor sets the caps (hostd.toml [limits]).
public struct CallbackLimits: Equatable, Sendable {
    /// Cap on callback_timeout_ms (interrupt, timer, commands, detach).
    public var maxCallbackMs: UInt32 = 10_000
    /// Cap on attach_timeout_ms: attach may load firmware or train a link.
    public var maxAttachMs: UInt32 = 60_000

    public init() {}

    public init(maxCallbackMs: UInt32, maxAttachMs: UInt32) {
        self.maxCallbackMs = maxCallbackMs
        self.maxAttachMs = maxAttachMs
    }

    /// The bound in milliseconds for a declared value (0: the host default).
    public static func bound(declared: UInt32, fallback: UInt32, cap: UInt32) -> UInt32 {
        min(declared == 0 ? fallback : declared, cap)
    }
}
