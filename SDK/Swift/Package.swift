// swift-tools-version:6.0
//
// The drvhost Swift SDK: write a drvhost plugin in Swift. A plugin is its own
// package that depends on this one and builds a dynamic library (see
// SDK/README.md and SDK/template/). No Foundation: a plugin runs inside
// driverhost's interrupt loop. libffi (Debian: libffi-dev) makes each
// command a C function of its declared signature.
import PackageDescription

let package = Package(
    name: "DrvHostSDK",
    products: [
        .library(name: "DrvHostSDK", targets: ["DrvHostSDK"]),
    ],
    targets: [
        // The C plugin ABI (SDK/include/drvhost/plugin.h), as a Swift module.
        .target(name: "CDrvHostSDK", path: "Sources/CDrvHostSDK",
                linkerSettings: [.linkedLibrary("ffi")]),
        .target(name: "DrvHostSDK", dependencies: ["CDrvHostSDK"], path: "Sources/DrvHostSDK",
                swiftSettings: DrvHostSDKSettings.lean),
        // What the SDK derives (signatures, matches, bounds), without a host;
        // the calls themselves are tested through Plugins/edu-swift.
        .testTarget(name: "DrvHostSDKTests", dependencies: ["DrvHostSDK", "CDrvHostSDK"], path: "Tests/DrvHostSDKTests"),
    ]
)

/// What a plugin module needs of the Swift runtime is libswiftCore: without
/// these flags every module also links Concurrency, StringProcessing and
/// libdispatch, which driverhost then loads (and relocates) for nothing.
/// Plugin packages use the same flags (see SDK/template/swift).
enum DrvHostSDKSettings {
    static let lean: [SwiftSetting] = [
        .unsafeFlags(["-Xfrontend", "-disable-implicit-concurrency-module-import",
                      "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
    ]
}

