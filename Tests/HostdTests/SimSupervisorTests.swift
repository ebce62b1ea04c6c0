import DrvHostControl
import Foundation
import Glibc
import HostdCore
import Logging
import Testing
import TestSupport

/// The supervisor on simulated devices, end to end: a real devsim, the
/// real driverhost and the C edu plugin (`make plugins`, `swift build`).
/// Real PCI devices are off, so the host's own bus is never touched.
/// State changes are awaited through Supervisor.observe(), bounded by
/// within(), never by sleeping.
@Suite(.serialized) struct SimSupervisorTests {
    @Test func autoloadCallCrashRestartUnload() async throws {
        let w = try simWorld(autoload: true)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        // start() returns once autoloaded instances have attached.
        try await w.supervisor.start()

        let devices = await w.supervisor.devices()
        #expect(devices.map(\.bdf) == ["sim:edu0", "sim:edu1"])
        #expect(devices.allSatisfy { $0.vendor == 0x1234 && $0.device == 0x11e8 && $0.kernelDriver == nil })
        #expect(devices.map(\.instance) == ["edu@sim:edu0", "edu@sim:edu1"])
        #expect(devices.allSatisfy { $0.dmaMode == .confined })
        let running = await w.supervisor.instances()
        #expect(running.map(\.state) == [.running, .running])
        #expect(running.allSatisfy { $0.dmaMode == .confined && $0.reset == false })

        let answer = try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["10"])
        #expect(answer == "3628800")

        // SIGKILL the driverhost: devsim releases the device, and only then
        // does the supervisor start the next driverhost: the warm standby
        // that was waiting since the attach.
        let before = try await w.supervisor.status("edu@sim:edu0")
        let pid = try #require(before.pid)
        let standby = try #require(before.standbyPid)
        let releasesBefore = try #require(before.releases)
        let changes = await w.supervisor.observe()
        kill(pid, SIGKILL)
        let restarted = try await within(10, waitingFor: "restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        #expect(restarted.map(\.state) == [.restarting, .starting, .running])
        // Published as the new driverhost started: the release had happened.
        let starting = try #require(restarted.first { $0.state == .starting })
        #expect(starting.restarts == 1 && starting.pid == standby && starting.standbyPid == nil)
        // A new standby waits for the next crash.
        let next = try #require(restarted.last?.standbyPid)
        #expect(next != standby && next != pid)
        #expect((starting.releases ?? 0) > releasesBefore)
        #expect(restarted.first?.lastExit == "signal 9 (SIGKILL)")

        let again = try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["5"])
        #expect(again == "120")

        let removed = try await w.supervisor.unload("edu")
        #expect(removed == ["edu@sim:edu0", "edu@sim:edu1"])
        // Unload waited for the standby too: it has exited and been reaped.
        #expect(kill(next, 0) == -1 && errno == ESRCH)
        #expect(await w.supervisor.instances().isEmpty)
        #expect(await w.supervisor.devices().allSatisfy { $0.instance == nil })
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func aDeviceErrorRestartsTheInstanceAfterTheRelease() async throws {
        let w = try simWorld(autoload: false)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let loaded = try #require(try await w.supervisor.load(plugin: "edu", device: "sim:edu0").first)
        let changes = await w.supervisor.observe()
        let inject = Process()
        inject.executableURL = URL(fileURLWithPath: RepoPaths.binary("devsim"))
        inject.arguments = ["inject-error", "edu0", "--runtime-dir", w.devsim.directory]
        try inject.run()
        inject.waitUntilExit()
        #expect(inject.terminationStatus == 0)
        let restarted = try await within(10, waitingFor: "restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        #expect(restarted.map(\.state) == [.restarting, .starting, .running])
        // driverhost's own reason comes with the exit code.
        #expect(restarted.first?.lastExit?.hasPrefix("exit 42 (device error): the PCI core reported an error on the device") == true)
        #expect(restarted.last?.restarts == 1 && restarted.last?.pid != loaded.pid)
        #expect(try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["5"]) == "120")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    /// hostd.toml's [limits] max_callback_ms reaches every driverhost: a
    /// plugin declaring a 49-day bound that spins in interrupt() is ended by
    /// the watchdog at the cap.
    @Test func theConfiguredCapEndsAPluginThatDeclaresAHugeBound() async throws {
        let w = try simWorld(autoload: false, extraPlugins: ["huge-bound.so": RepoPaths.testPlugin("huge-bound")]) {
            $0.limits.maxCallbackMs = 300
            $0.restart = .init(maxCrashes: 1, windowMs: 60_000, initialBackoffMs: 1, maxBackoffMs: 4)
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let loaded = try #require(try await w.supervisor.load(plugin: "huge-bound.so", device: "sim:edu0").first)
        let started = ContinuousClock.now
        await #expect(throws: ControlError.self) {
            try await w.supervisor.call(loaded.name, command: "raise", arguments: ["1"])
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        let supervisor = w.supervisor, name = loaded.name
        let status = try await within(10, waitingFor: "the watchdog exit of \(name)") {
            while true {
                let status = try await supervisor.status(name)
                if status.lastExit != nil { return status }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(status.lastExit == "exit 40 (watchdog)")
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    @Test func loadOntoANamedSimulatedDevice() async throws {
        let w = try simWorld(autoload: false)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        #expect(await w.supervisor.instances().isEmpty)

        let loaded = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu1")
        #expect(loaded.map(\.name) == ["edu@sim:edu1"] && loaded.first?.state == .running)
        await #expect(throws: ControlError(.notFound, "no simulated device sim:nosuch")) {
            try await w.supervisor.load(plugin: "edu", device: "sim:nosuch")
        }
        await #expect(throws: ControlError(.conflict, "sim:edu1 is already driven by edu@sim:edu1")) {
            try await w.supervisor.load(plugin: "edu", device: "sim:edu1")
        }
        await #expect(throws: ControlError(.conflict, "00:05.0 is a PCI device and this hostd drives none (pci = false)")) {
            try await w.supervisor.load(plugin: "edu", device: "00:05.0")
        }
        #expect(try await w.supervisor.unload("edu@sim:edu1") == ["edu@sim:edu1"])
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    /// The class-device seam, with a driverhost wrapped by a script that
    /// announces a block device the way a class server does (before the
    /// real driverhost's "attached") and records every command line: the
    /// device is shown, handed to the next driverhost after a crash, and
    /// ended after the unload.
    @Test func aClassDeviceOutlivesCrashesAndIsEndedAtUnload() async throws {
        let calls = FileManager.default.temporaryDirectory.appendingPathComponent("class-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let wrapper = calls.path + ".sh"
        defer { try? FileManager.default.removeItem(at: calls); try? FileManager.default.removeItem(atPath: wrapper) }
        try """
            #!/bin/sh
            echo "$*" >>'\(calls.path)'
            case " $* " in *" --end-device "*) exit 0 ;; esac
            # The real driverhost would refuse --class-device for edu (no
            # class): keep the name and leave the option out.
            name=disk0 taking=
            for a; do
                shift
                if [ -n "$taking" ]; then name=${a#block:} taking=; continue; fi
                if [ "$a" = --class-device ]; then taking=1; continue; fi
                set -- "$@" "$a"
            done
            echo "device block $name" >&3
            exec '\(RepoPaths.binary("driverhost"))' "$@"
            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let w = try simWorld(autoload: false) { config in
            config.driverhostPath = wrapper
            config.warmStandby = false
        }
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        _ = try await w.supervisor.load(plugin: "edu.so", device: "sim:edu0")
        let first = try await w.supervisor.status("edu@sim:edu0")
        #expect(first.classDevice == ClassDeviceStatus(kind: "block", name: "disk0"))

        let changes = await w.supervisor.observe()
        kill(try #require(first.pid), SIGSEGV)
        let restarted = try await within(10, waitingFor: "restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        #expect(restarted.last?.restarts == 1)
        #expect(restarted.allSatisfy { $0.classDevice?.name == "disk0" })
        var lines = try String(contentsOf: calls, encoding: .utf8).split(separator: "\n")
        #expect(lines.last?.contains("--restart-count 1 --class-device block:disk0") == true)

        #expect(try await w.supervisor.unload("edu@sim:edu0") == ["edu@sim:edu0"])
        lines = try String(contentsOf: calls, encoding: .utf8).split(separator: "\n")
        #expect(lines.last == "--end-device block disk0")
        #expect(lines.filter { $0.contains("--end-device") }.count == 1)
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }

    /// Plugins whose constructors hang are read side by side, each in a
    /// child on a thread of its own: while their reads are pending, the
    /// running instances answer and the listing comes back.
    @Test func pluginsWhoseConstructorsHangStallNothingElse() async throws {
        // Reads that would outlast the test: still pending at its end.
        let w = try simWorld(autoload: true, describeTimeout: .seconds(120))
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let hang = RepoPaths.testPlugin("ctor-hang")
        for i in 0..<6 {
            // Copied aside, then renamed in: the watcher sees whole files.
            try FileManager.default.copyItem(atPath: hang, toPath: "\(w.plugins)/.hang\(i).so")
            try FileManager.default.moveItem(atPath: "\(w.plugins)/.hang\(i).so", toPath: "\(w.plugins)/hang\(i).so")
        }
        defer { for pid in describeChildren(of: w.plugins) { kill(pid, SIGKILL) } }
        // As many reads at once as the gate lets through (4), not one by one.
        let directory = w.plugins
        try await within(10, waitingFor: "4 descriptor reads at once") {
            while describeChildren(of: directory).count < 4 { try await Task.sleep(for: .milliseconds(10)) }
        }
        for n in 1...20 {
            let answer = try await w.supervisor.call("edu@sim:edu0", command: "factorial", arguments: ["\(n % 10)"])
            #expect(!answer.isEmpty)
        }
        let files = await w.supervisor.plugins().map(\.file)
        #expect(files == ["edu.so"], "the hanging reads were still pending: \(files)")
        #expect(describeChildren(of: w.plugins).count == 4)
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}

/// Processes running `driverhost --describe` on a plugin in `directory`.
private func describeChildren(of directory: String) -> [pid_t] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> pid_t? in
        guard let pid = pid_t(entry),
              let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.contains("--describe") && arguments.contains(where: { $0.hasPrefix(directory + "/hang") }) ? pid : nil
    }
}

extension SimSupervisorTests {
    /// Removing a plugin's file unloads every instance of it, one that has
    /// just been restarted after a crash too (with its new standby).
    @Test func removingAFileUnloadsItsInstancesAfterACrash() async throws {
        let w = try simWorld(autoload: true)
        defer { try? FileManager.default.removeItem(atPath: w.plugins) }
        try await w.supervisor.start()
        let pid = try #require(try await w.supervisor.status("edu@sim:edu0").pid)
        let changes = await w.supervisor.observe()
        kill(pid, SIGKILL)
        _ = try await within(10, waitingFor: "restart of edu@sim:edu0") {
            await HostdTests.changes(changes, until: .running, of: "edu@sim:edu0")
        }
        #expect(unlink(w.plugins + "/edu.so") == 0)
        let supervisor = w.supervisor
        try await within(10, waitingFor: "both instances unloaded") {
            while await !supervisor.instances().isEmpty { try await Task.sleep(for: .milliseconds(20)) }
        }
        await w.supervisor.shutdown()
        #expect(w.devsim.stop() == 0)
    }
}
