import CDrvHost
import Glibc

/// A plugin shared object, opened RTLD_NOW | RTLD_LOCAL so that an unresolved
/// symbol fails here and not in the middle of an interrupt, and so that two
/// plugins could never see each other's symbols. Never closed: the process
/// ends with it.
public struct PluginLibrary {
    public let path: String
    /// The plugin's exported descriptor, as the plugin laid it out.
    public let entry: UnsafeRawPointer

    public init(path: String) throws(HostFailure) {
        self.path = path
        guard let handle = cdh_dlopen_now_local(path) else {
            throw HostFailure(.pluginNotLoadable, "cannot load plugin \(path): \(PluginLibrary.dlerrorText())")
        }
        guard let symbol = dlsym(handle, DH_PLUGIN_SYMBOL) else {
            throw HostFailure(.pluginNotLoadable,
                              "\(path) is not a drvhost plugin: it exports no \(DH_PLUGIN_SYMBOL) symbol")
        }
        entry = UnsafeRawPointer(symbol)
    }

    private static func dlerrorText() -> String {
        guard let text = dlerror() else { return "unknown error" }
        return String(cString: text)
    }
}
