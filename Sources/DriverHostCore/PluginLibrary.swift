import CDrvHost
import Glibc
import DrvHostProtocol

/// A plugin shared object, opened RTLD_NOW | RTLD_LOCAL so that an unresolved
/// symbol fails here and not in the middle of an interrupt, and so that two
/// plugins could never see each other's symbols. Never closed: the process
/// ends with it.
public struct PluginLibrary {
    public let path: String
    /// The plugin's descriptor, as the plugin laid it out: its exported
    /// dh_plugin_entry, or what its dh_plugin_get returned.
    public let entry: UnsafeRawPointer

    public init(path: String) throws(HostFailure) {
        self.path = path
        guard let handle = cdh_dlopen_now_local(path) else {
            throw HostFailure(.pluginNotLoadable, "cannot load plugin \(path): \(PluginLibrary.dlerrorText())")
        }
        if let symbol = dlsym(handle, DH_PLUGIN_SYMBOL) {
            entry = UnsafeRawPointer(symbol)
        } else if let getter = dlsym(handle, DH_PLUGIN_GETTER_SYMBOL) {
            // ABI 1.1: plugins in languages without const C data (Swift).
            let get = unsafeBitCast(getter, to: dh_plugin_get_fn.self)
            guard let descriptor = get() else {
                throw HostFailure(.pluginNotLoadable, "\(path): \(DH_PLUGIN_GETTER_SYMBOL)() returned no descriptor")
            }
            entry = UnsafeRawPointer(descriptor)
        } else {
            throw HostFailure(.pluginNotLoadable,
                              "\(path) is not a drvhost plugin: it exports neither \(DH_PLUGIN_SYMBOL) nor \(DH_PLUGIN_GETTER_SYMBOL)")
        }
    }

    private static func dlerrorText() -> String {
        guard let text = dlerror() else { return "unknown error" }
        return String(cString: text)
    }
}
