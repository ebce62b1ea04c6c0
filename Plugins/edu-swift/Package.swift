// swift-tools-version:6.0
//
// The edu plugin in Swift: everything Plugins/edu does in C, written with the
// Swift SDK, built the way a third party builds a plugin (its own package,
// the SDK by path). The product is libedu-swift.so, which driverhost loads
// like any plugin:
//   swift build -c release && driverhost --device sim:edu0 \
//       --plugin .build/release/libedu-swift.so --call factorial 10
import PackageDescription

let package = Package(
    name: "edu-swift",
    products: [
        .library(name: "edu-swift", type: .dynamic, targets: ["EduSwift"]),
    ],
    dependencies: [
        .package(name: "DrvHostSDK", path: "../../SDK/Swift"),
    ],
    targets: [
        .target(
            name: "EduSwift",
            dependencies: [.product(name: "DrvHostSDK", package: "DrvHostSDK")],
            path: "Sources/EduSwift",
            // Only libswiftCore at run time: no Concurrency, StringProcessing
            // or libdispatch loaded into driverhost for nothing.
            swiftSettings: [
                .unsafeFlags(["-Xfrontend", "-disable-implicit-concurrency-module-import",
                              "-Xfrontend", "-disable-implicit-string-processing-module-import"]),
            ],
            linkerSettings: [
                // Export dh_plugin_get and nothing else (ABI rule 1).
                .unsafeFlags(["-Xlinker", "--version-script=\(Context.packageDirectory)/exports.map"]),
            ]
        ),
    ]
)
