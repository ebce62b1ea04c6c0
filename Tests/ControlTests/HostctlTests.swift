import DrvHostControl
import DrvHostControlServer
import Foundation
import Testing
import TestSupport

/// hostctl's binary against a real ControlServer with a fake supervisor.
@Suite struct HostctlTests {
    @Test func aShortAddressReachesHostd() async throws {
        try await withServer { path in
            let run = try await runHostctl(["load", "edu.so", "--device", "00:05.0", "--socket", path])
            #expect(run.status != 64, "\(run.stderr)")
        }
    }

    @Test func logsPrintTheLastLines() async throws {
        try await withServer { path in
            let run = try await runHostctl(["logs", "edu@0000:00:05.0", "-n", "2", "--socket", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "driverhost[0000:00:05.0]: info: line 4\ndriverhost[0000:00:05.0]: info: line 5\n")
            let missing = try await runHostctl(["logs", "nope@x", "--socket", path])
            #expect(missing.status == 1 && missing.stderr.contains("no instance nope@x"))
        }
    }

    @Test func tracePrintsEachRecordAndTheDropCounts() async throws {
        try await withServer { path in
            let run = try await runHostctl(["trace", "edu@0000:00:05.0", "--socket", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == """
                +0.000000 write BAR0+0x8 4 0x00000005
                +0.000250 event seq 7 vector 0 flags 0x0 snap 0x1
                +0.000312 interrupt() returned after 12.345 us
                dropped: 3 in driverhost, 1 in hostd

                """)
            let limited = try await runHostctl(["trace", "edu@0000:00:05.0", "-n", "2", "--json", "--socket", path])
            let lines = limited.stdout.split(separator: "\n")
            #expect(lines.count == 2 && lines[1].contains(#""kind":"event""#) && !lines[1].contains(#""kind":"callback""#))
            let missing = try await runHostctl(["trace", "nope@x", "--socket", path])
            #expect(missing.status == 1 && missing.stderr.contains("no instance nope@x"))
            let bad = try await runHostctl(["trace", "edu@0000:00:05.0", "-n", "0", "--socket", path])
            #expect(bad.status == 64)
        }
    }

    @Test func watchPrintsEachChangeAsALine() async throws {
        try await withServer { path in
            let run = try await runHostctl(["watch", "--socket", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == """
                edu@0000:00:05.0 running pid 4242 restarts 2 (last exit: signal 11 (SIGSEGV))
                edu@0000:00:05.0 restarting pid 4242 restarts 2 (last exit: signal 11 (SIGSEGV))
                edu@0000:00:05.0 running pid 4242 restarts 3 (last exit: signal 11 (SIGSEGV))

                """)
            let json = try await runHostctl(["watch", "--json", "--socket", path])
            let lines = json.stdout.split(separator: "\n")
            #expect(lines.count == 3 && lines[1].contains(#""state":"restarting""#))
        }
    }

    @Test func metricsArePrintedAsHostdSendsThem() async throws {
        try await withServer { path in
            let run = try await runHostctl(["metrics", "--socket", path])
            #expect(run.status == 0)
            #expect(run.stdout == "# TYPE drvhost_instance_interrupts_total counter\n"
                    + "drvhost_instance_interrupts_total{instance=\"edu@0000:00:05.0\"} 7\n")
        }
    }

    @Test func helpListsCommandsAndExitCodes() async throws {
        let run = try await runHostctl(["--help"])
        #expect(run.status == 0)
        for word in ["load", "unload", "list", "devices", "status", "restart", "call", "completions",
                     "69  hostd is not running", "77  permission denied", "1   hostd refused",
                     "64  usage error", "DRVHOST_SOCKET"] {
            #expect(run.stdout.contains(word), "\(word)")
        }
        let call = try await runHostctl(["call", "--help"])
        #expect(call.stdout.contains("USAGE: hostctl call <instance> <command> [<arguments> ...]"))
        #expect(call.stdout.contains("--json"))
    }

    @Test(arguments: [
        ["load", "edu.so", "--device", "00:5.0"],
        ["load", "edu.so", "--device", "0000:00:20.0"],
        ["load", ""],
        ["status", "edu"],
        ["restart", "@0000:00:05.0"],
        ["call", "edu@0000:00:05.0"],
        ["devices", "--socket", ""],
        ["frobnicate"],
        ["completions", "install", "--shell", "tcsh"],
    ])
    func badArgumentsAreUsageErrors(_ arguments: [String]) async throws {
        let run = try await runHostctl(arguments + ["--socket", "/nonexistent/control.sock"].suffix(
            arguments.contains("--socket") || arguments.first == "completions" ? 0 : 2))
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
        #expect(run.stderr.contains("Error:"))
    }

    @Test func noHostdIsExit69() async throws {
        let run = try await runHostctl(["devices"], environment: ["DRVHOST_SOCKET": "/nonexistent/control.sock"])
        #expect(run.status == 69)
        #expect(run.stderr.contains("hostd is not running: cannot connect to /nonexistent/control.sock"))
    }

    @Test func devicesLookLikeLspci() async throws {
        try await withServer { path in
            let run = try await runHostctl(["devices", "--socket", path])
            #expect(run.status == 0)
            #expect(run.stdout == """
                0000:00:03.0 Ethernet controller [0200]: Intel Corporation 82540EM Gigabit Ethernet Controller [8086:100e]  owner: kernel driver e1000  dma: -
                0000:00:05.0 Unclassified device [00ff]: Device [1234:11e8]  owner: edu@0000:00:05.0 (drvproxy)  dma: confined

                """)
        }
    }

    @Test func verboseDevicesLookLikeLspciVerbose() async throws {
        try await withServer { path in
            let run = try await runHostctl(["devices", "-v", "--socket", path])
            #expect(run.status == 0)
            #expect(run.stdout.hasSuffix("""
                0000:00:05.0 Unclassified device [00ff]: Device [1234:11e8]  owner: edu@0000:00:05.0 (drvproxy)  dma: confined
                    Subsystem: [1af4:1100]
                    IRQ 11 (shared with 0000:00:03.0)
                    Interrupts: INTx
                    IOMMU group 4
                    Region 0: Memory (32-bit, non-prefetchable), size 1M
                    Kernel driver in use: drvproxy
                    Driver before drvhost: uio_pci_generic

                """), "\(run.stdout)")
        }
    }

    @Test func callPrintsAResultAsItsSignatureSays() async throws {
        try await withServer { path in
            let text = try await runHostctl(["call", "edu@0000:00:05.0", "link", "--socket", path])
            #expect(text.status == 0, "\(text.stderr)")
            // Text fields reach the terminal with their controls escaped.
            #expect(text.stdout == "mac=525400123456 mtu=1500 name=eth 0\\x09 status=0x8001\n")
            let json = try await runHostctl(["call", "edu@0000:00:05.0", "link", "--json", "--socket", path])
            #expect(json.stdout == FakeSupervisor.linkResult + "\n")
            let number = try await runHostctl(["call", "edu@0000:00:05.0", "factorial", "5", "--json", "--socket", path])
            #expect(number.stdout == "120\n")
        }
    }

    @Test func jsonOutputIsTheProtocolsValues() async throws {
        try await withServer { path in
            let devices = try await runHostctl(["devices", "--json", "--socket", path])
            #expect(try JSONDecoder().decode([DeviceRow].self, from: Data(devices.stdout.utf8))
                    == [FakeSupervisor.nic, FakeSupervisor.edu])
            #expect(devices.stdout.contains(#""dmaMode" : "confined""#))
            let status = try await runHostctl(["status", "edu@0000:00:05.0", "--json", "--socket", path])
            #expect(try JSONDecoder().decode(InstanceStatus.self, from: Data(status.stdout.utf8))
                    == FakeSupervisor.running)
            #expect(status.stdout.contains(#""dmaMode" : "confined""#) && status.stdout.contains(#""reset" : true"#))
            let list = try await runHostctl(["list", "--json", "--socket", path])
            let object = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any]
            #expect(Set(object?.keys.map { $0 } ?? []) == ["plugins", "instances"])
            let call = try await runHostctl(["call", "edu@0000:00:05.0", "factorial", "5", "--json", "--socket", path])
            // A u64 result is a JSON number, no longer a string.
            #expect(call.stdout == "120\n")
        }
    }

    @Test func pluginTextReachesTheTerminalEscapedAndJSONExact() async throws {
        try await withServer { path in
            let human = try await runHostctl(["list", "--socket", path])
            #expect(human.status == 0)
            let row = human.stdout.split(separator: "\n").first { $0.hasPrefix("nasty-strings.so") }
            #expect(row?.contains(#"1.0\x1b[2J\x9b\x0a"#) == true, "\(human.stdout)")
            #expect(!human.stdout.unicodeScalars.contains { $0 == "\u{1b}" || $0 == "\u{9b}" })
            let json = try await runHostctl(["list", "--json", "--socket", path])
            struct Listing: Decodable { var plugins: [PluginRow] }
            let plugins = try JSONDecoder().decode(Listing.self, from: Data(json.stdout.utf8)).plugins
            #expect(plugins.first { $0.file == "nasty-strings.so" }?.version == "1.0\u{1b}[2J\u{9b}\n")
        }
    }

    @Test func humanStatusShowsEverything() async throws {
        try await withServer { path in
            let run = try await runHostctl(["status", "edu@0000:00:05.0", "--socket", path])
            #expect(run.status == 0)
            for line in ["state:      running", "pid:        4242", "restarts:   2",
                         "last exit:  signal 11 (SIGSEGV)", "failure:    -", "interrupts: 17", "not mine:   3", "storms:     1",
                         "dma:        confined", "reset:      yes"] {
                #expect(run.stdout.contains(line), "\(line)")
            }
        }
    }

    @Test func statusSaysWhatUnsafeDMAAndNoResetMean() async throws {
        try await withServer { path in
            let run = try await runHostctl(["status", "edu@0000:00:06.0", "--socket", path])
            #expect(run.status == 0)
            for line in ["dma:        unsafe (no IOMMU: the device can reach all memory; kernel tainted)",
                         "reset:      no (the release program is the only safety net)",
                         "last exit:  exit 42 (device error)"] {
                #expect(run.stdout.contains(line), "\(line)")
            }
        }
    }

    @Test func callPrintsTheResultOrTheRefusal() async throws {
        let supervisor = FakeSupervisor()
        try await withServer(supervisor) { path in
            let ok = try await runHostctl(["call", "edu@0000:00:05.0", "factorial", "10", "--socket", path])
            #expect(ok.status == 0 && ok.stdout == "3628800\n")
            let wrongCount = try await runHostctl(["call", "edu@0000:00:05.0", "factorial", "1", "2", "--socket", path])
            #expect(wrongCount.status == 1)
            #expect(wrongCount.stderr == "hostctl: badRequest: factorial u64(u32) takes 1 argument, got 2\n")
            let wrongType = try await runHostctl(["call", "edu@0000:00:05.0", "factorial", "ten", "--socket", path])
            #expect(wrongType.status == 1 && wrongType.stderr.contains("\"ten\" is not a u32"))
            let missing = try await runHostctl(["load", "nope.so", "--socket", path])
            #expect(missing.status == 1 && missing.stderr.contains("notFound: no plugin nope.so"))
        }
        #expect(await supervisor.changes == ["call factorial 10"])
    }

    @Test func completionScriptsInstallUnderDestdir() async throws {
        let directory = makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try await runHostctl(["completions", "install", "--destdir", directory, "--prefix", "/usr"])
        #expect(run.status == 0, "\(run.stderr)")
        let bash = try String(contentsOfFile: directory + "/usr/share/bash-completion/completions/hostctl", encoding: .utf8)
        #expect(bash.contains("hostctl") && bash.contains("devices"))
        #expect(FileManager.default.fileExists(atPath: directory + "/usr/share/zsh/site-functions/_hostctl"))
        #expect(FileManager.default.fileExists(atPath: directory + "/usr/share/fish/vendor_completions.d/hostctl.fish"))
    }
}

/// Real unprivileged peers: hostctl run by setpriv as uid 65534 with a
/// primary group that is not the socket's, against a server whose group is
/// nogroup (65534).
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
struct UnprivilegedPeerTests {
    static let outsider = ["/usr/bin/setpriv", "--reuid=65534", "--regid=4242", "--clear-groups"]
    static let member = ["/usr/bin/setpriv", "--reuid=65534", "--regid=4242", "--groups=65534"]

    func openSocket(_ configuration: inout ControlServer.Configuration) {
        configuration.group = "nogroup"
        configuration.socketMode = 0o666
    }

    @Test func anOutsiderMayReadButNotChange() async throws {
        let supervisor = FakeSupervisor()
        try await withServer(supervisor, configure: openSocket) { path in
            let devices = try await runHostctl(["devices", "--socket", path], prefix: Self.outsider)
            #expect(devices.status == 0, "\(devices.stderr)")
            let status = try await runHostctl(["status", "edu@0000:00:05.0", "--socket", path], prefix: Self.outsider)
            #expect(status.status == 0)
            for change in [["load", "edu.so"], ["unload", "edu"], ["restart", "edu@0000:00:05.0"],
                           ["call", "edu@0000:00:05.0", "factorial", "3"], ["trace", "edu@0000:00:05.0"]] {
                let run = try await runHostctl(change + ["--socket", path], prefix: Self.outsider)
                #expect(run.status == 77, "\(change)")
                #expect(run.stderr.contains("permissionDenied: \"\(change[0])\" needs root or membership"))
            }
        }
        #expect(await supervisor.changes.isEmpty)
    }

    /// Half-sent requests from one uid take at most its share of the
    /// connections: the rest of its connections are refused with a reason,
    /// and root still gets in (its connections are counted apart).
    @Test func oneUserStallingHalfLinesLocksNobodyOut() async throws {
        try await withServer(configure: { configuration in
            openSocket(&configuration)
            configuration.maximumConnections = 16
            configuration.maximumConnectionsPerUser = 4
        }) { path in
            try await onThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: Self.outsider[0])
                process.arguments = Array(Self.outsider.dropFirst())
                    + [RepoPaths.builtFile("build/test-tools/halfline"), path, "20", "16"]
                let input = Pipe(), output = Pipe()
                process.standardInput = input
                process.standardOutput = output
                try process.run()
                defer {
                    try? input.fileHandleForWriting.close()
                    process.waitUntilExit()
                }
                // Once the outsider's refusals are in, its 4 stalls are held.
                let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
                #expect(line == "held 4 refused 16\n")
                let root = try ControlClient(socketPath: path)
                #expect(try root.instances() == [FakeSupervisor.running])
            }
        }
    }

    @Test func aSupplementaryMemberMayChange() async throws {
        let supervisor = FakeSupervisor()
        try await withServer(supervisor, configure: openSocket) { path in
            let run = try await runHostctl(["load", "edu.so", "--socket", path], prefix: Self.member)
            #expect(run.status == 0, "\(run.stderr)")
        }
        #expect(await supervisor.changes == ["load edu.so *"])
    }

    @Test func theSocketModeKeepsOutsidersOut() async throws {
        try await withServer(configure: { $0.group = "nogroup" }) { path in
            let run = try await runHostctl(["devices", "--socket", path], prefix: Self.outsider)
            #expect(run.status == 77)
            #expect(run.stderr.contains("permission denied"))
        }
    }
}
