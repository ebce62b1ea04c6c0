// swift-tools-version:6.0
//
// A drvhost plugin in Swift: a dynamic library that exports dh_plugin_get.
// Set DRVHOST_SDK to the SDK directory (its Swift package is DRVHOST_SDK/Swift).
import PackageDescription

let sdk = Context.environment["DRVHOST_SDK"] ?? "\(Context.packageDirectory)/../.."

let package = Package(
    name: "myplugin",
    products: [
        .library(name: "myplugin", type: .dynamic, targets: ["MyPlugin"]),
    ],
    dependencies: [
        .package(name: "DrvHostSDK", path: "\(sdk)/Swift"),
    ],
    targets: [
        .target(
            name: "MyPlugin",
            dependencies: [.product(name: "DrvHostSDK", package: "DrvHostSDK")],
            path: "Sources/MyPlugin",
            // Only libswiftCore at run time: no Concurrency, StringProcessing
            // or libdispatch loaded into driverhost for nothing.
            swiftSettings: [
                .unsafeFlags(["-Xfrontend", "-disable-implicit-concurrency-module-import",
                              "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
            ],
            linkerSettings: [
                // A plugin exports dh_plugin_get and nothing else.
                .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/exports.map"]),
            ]
        ),
    ]
)
