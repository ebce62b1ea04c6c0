// swift-tools-version:6.0
//
// drvhost user-space side. driverhost uses Glibc only (no Foundation, no
// packages); libffi comes from the system through pkg-config.
import PackageDescription

let package = Package(
    name: "drvhost",
    products: [
        .executable(name: "driverhost", targets: ["driverhost"]),
    ],
    targets: [
        .systemLibrary(
            name: "CLibFFI",
            path: "Sources/CLibFFI",
            pkgConfig: "libffi",
            providers: [.apt(["libffi-dev"])]
        ),
        // C shims, the kernel's regprog engine and the layout checks.
        .target(
            name: "CDrvHost",
            dependencies: ["CLibFFI"],
            path: "Sources/CDrvHost"
        ),
        // Everything driverhost does, as a library so tests and benchmarks
        // can drive it.
        .target(
            name: "DriverHostCore",
            dependencies: ["CDrvHost"],
            path: "Sources/DriverHostCore",
            swiftSettings: [
                // The loop thread is the only thread that touches these
                // objects; dynamic exclusivity checks cost ~10% of the
                // per-event dispatch budget (see the dispatch benchmark).
                .unsafeFlags(["-enforce-exclusivity=unchecked"]),
            ]
        ),
        .executableTarget(
            name: "driverhost",
            dependencies: ["DriverHostCore"],
            path: "Sources/driverhost"
        ),
        // Host-side benchmark: events/s through driverhost's loop against
        // a bare C epoll loop on the same eventfd source.
        .target(
            name: "CDispatchBaseline",
            path: "Benchmarks/CDispatchBaseline"
        ),
        .executableTarget(
            name: "driverhost-dispatch-bench",
            dependencies: ["DriverHostCore", "CDispatchBaseline"],
            path: "Benchmarks/driverhost-dispatch-bench"
        ),
        .testTarget(
            name: "DriverHostTests",
            // driverhost itself too: exit codes and messages are tested on
            // the real binary. Test plugins: `make -C Tests/Plugins` first.
            dependencies: ["DriverHostCore", "driverhost"],
            path: "Tests/DriverHostTests"
        ),
    ]
)
