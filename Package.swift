// swift-tools-version:6.0
//
// drvhost user-space side. driverhost uses Glibc and swift-system only (no
// Foundation, no other packages); libffi comes from the system through
// pkg-config.
import PackageDescription

// --static-swift-stdlib links with -export-dynamic (so that libraries a
// program dlopens find the Swift runtime in it: driverhost's plugins).
// hostd and hostctl load no libraries, and every exported symbol is a root
// that --gc-sections must keep: without the export they are 0.1-1.5 MB
// smaller.
let noExportedSymbols: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]

let package = Package(
    name: "drvhost",
    products: [
        .executable(name: "driverhost", targets: ["driverhost"]),
        .executable(name: "hostd", targets: ["hostd"]),
        .executable(name: "hostctl", targets: ["hostctl"]),
        .executable(name: "devsim", targets: ["devsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
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
        // How text from plugins reaches a terminal (shared by all three
        // programs; no dependencies, driverhost uses no Foundation).
        .target(
            name: "TerminalText",
            path: "Sources/TerminalText"
        ),
        // A command result's typed value and its text and JSON forms, shared
        // by driverhost (which makes it) and hostctl (which prints it).
        .target(
            name: "CommandValue",
            path: "Sources/CommandValue"
        ),
        // One definition of what driverhost and hostd say to each other: the
        // control lines both ways, exit codes, the describe schema, the PCI
        // address and the names both sides check. No Foundation (driverhost
        // links it), no packages.
        .target(
            name: "DrvHostProtocol",
            dependencies: ["CommandValue"],
            path: "Sources/DrvHostProtocol"
        ),
        // The typed system-call layer of every target, on swift-system: owned
        // descriptors, errno as a typed error naming its call, EINTR retried
        // in one place.
        .target(
            name: "DrvHostSystem",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/DrvHostSystem"
        ),
        // devsim's client side: driverhost opens a simulated device with it,
        // hostd lists devsim's devices and their counters.
        .target(
            name: "DevSimClient",
            dependencies: ["CDevSim", "CDrvHost", "DrvHostProtocol", "DrvHostSystem"],
            path: "Sources/DevSimClient"
        ),
        .target(
            name: "DriverHostCore",
            dependencies: ["CDrvHost", "CDevSim", "TerminalText", "CommandValue", "DrvHostProtocol", "DrvHostSystem", "DevSimClient"],
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
        // devsim: simulated PCI devices behind the drvproxy contract, in
        // their own process so that an owner's crash closes its connection
        // and devsim runs the release sequence, as the kernel does.
        // CDevSim: the wire protocol (SCM_RIGHTS etc.), shared with driverhost.
        .target(
            name: "CDevSim",
            path: "Sources/CDevSim"
        ),
        .target(
            name: "DevSimCore",
            dependencies: ["DriverHostCore", "DrvHostSystem", "DevSimClient", "CDrvHost", "CDevSim"],
            path: "Sources/DevSimCore"
        ),
        .executableTarget(
            name: "devsim",
            dependencies: ["DevSimCore"],
            path: "Sources/devsim"
        ),
        // The control socket: wire protocol, request handling and the client
        // (used by hostctl), on plain sockets. The server that hostd runs is
        // DrvHostControlServer: SwiftNIO for framing, backpressure and peer
        // credentials (SO_PEERCRED through SocketOptionProvider).
        .target(
            name: "DrvHostControl",
            dependencies: ["DrvHostProtocol", "DrvHostSystem"],
            path: "Sources/DrvHostControl"
        ),
        // The server half (hostd's): SwiftNIO and ServiceLifecycle stay out
        // of hostctl, which needs the protocol and the client only.
        .target(
            name: "DrvHostControlServer",
            dependencies: [
                "DrvHostControl", "DrvHostSystem",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/DrvHostControlServer"
        ),
        .executableTarget(
            name: "hostctl",
            dependencies: [
                "DrvHostControl", "DrvHostProtocol", "TerminalText", "CommandValue",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/hostctl",
            linkerSettings: noExportedSymbols
        ),
        // hostd, the supervisor. libpci (pciutils) enumerates devices and
        // names them from pci.ids; CHostd holds the C that Swift cannot say
        // (fork on one long-lived thread for PR_SET_PDEATHSIG, libpci's
        // non-returning error hook, variadic name lookup).
        .systemLibrary(
            name: "CPCI",
            path: "Sources/CPCI",
            pkgConfig: "libpci",
            providers: [.apt(["libpci-dev"])]
        ),
        .target(
            name: "CHostd",
            dependencies: ["CPCI"],
            path: "Sources/CHostd"
        ),
        .target(
            name: "HostdCore",
            dependencies: [
                "CHostd", "DrvHostProtocol", "DrvHostSystem", "DevSimClient", "DrvHostControl", "TerminalText",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/HostdCore"
        ),
        .executableTarget(
            name: "hostd",
            dependencies: [
                "HostdCore", "DrvHostControl", "DrvHostControlServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/hostd",
            linkerSettings: noExportedSymbols
        ),
        // Restart policy, configuration, matching over a libpci dump file, the
        // descriptor reader and the supervisor on the real driverhost with
        // --simulate devices. Test plugins: `make plugins` first.
        // What several test targets share: repository paths, a devsim process.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport"
        ),
        .testTarget(
            name: "HostdTests",
            dependencies: ["TestSupport", "HostdCore", "DrvHostProtocol", "DrvHostControlServer", "hostd", "driverhost", "devsim"],
            path: "Tests/HostdTests",
            exclude: ["Fixtures"]
        ),
        // Host-side benchmark: events/s through driverhost's loop against
        // a bare C epoll loop on the same eventfd source.
        .target(
            name: "CDispatchBaseline",
            path: "Benchmarks/CDispatchBaseline"
        ),
        .executableTarget(
            name: "driverhost-dispatch-bench",
            dependencies: ["DriverHostCore", "DrvHostSystem", "CDispatchBaseline"],
            path: "Benchmarks/driverhost-dispatch-bench"
        ),
        // devsim and driverhost as processes: release on crash, errors, and
        // the shared plugin suite (Tests/PluginSuite). Needs `make plugins`.
        .testTarget(
            name: "DevSimTests",
            dependencies: ["TestSupport", "devsim", "driverhost", "DevSimCore", "DevSimClient", "DrvHostSystem", "CDrvHost"],
            path: "Tests/DevSimTests"
        ),
        .testTarget(
            name: "DriverHostTests",
            // driverhost itself too: exit codes and messages are tested on
            // the real binary. Test plugins: `make -C Tests/Plugins` first.
            dependencies: ["TestSupport", "DriverHostCore", "DrvHostProtocol", "DrvHostSystem", "DevSimClient", "driverhost", "TerminalText", "CommandValue"],
            path: "Tests/DriverHostTests"
        ),
        // The protocol's messages round-trip and malformed lines are refused.
        .testTarget(
            name: "DrvHostProtocolTests",
            dependencies: ["DrvHostProtocol"],
            path: "Tests/DrvHostProtocolTests"
        ),
        .testTarget(
            name: "ControlTests",
            // hostctl too: its exit codes and output are tested on the binary.
            dependencies: ["TestSupport",
                "DrvHostControl", "DrvHostProtocol", "DrvHostSystem", "DrvHostControlServer", "hostctl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/ControlTests"
        ),
    ]
)
