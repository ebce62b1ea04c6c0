import Foundation
import Testing
import TestSupport

/// devsim and driverhost as separate processes, as they run for real.
@Suite(.serialized) struct DevSimProcessTests {
    static let edu = "build/plugins/edu.so"
    static let peek = "build/test-plugins/peek.so"
    static let releaseMarkerReadback = "782326290"  // ~0xD15EA5ED, edu_regs.h

    @Test func crashOfTheOwnerRunsTheReleaseSequence() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let before = try devsim.status()
        let owner = try AttachedDriverhost(device: "sim:edu0", plugin: RepoPaths.builtFile(Self.edu), environment: devsim.environment)
        let attached = try devsim.status()
        #expect(attached["owner_pid"] == Int(owner.process.processIdentifier))
        #expect(attached["bus_master"] == 1)     // driverhost turned it on after attach
        #expect(attached["dma_buffers"] == 1)
        #expect(attached["irq_mode"] == 1)       // DRVPROXY_IRQ_INTX_SHARED
        owner.kill()
        // No waiting: devsim finishes a hung-up owner before it answers anyone.
        let after = try devsim.status()
        #expect(after["releases"] == before["releases"]! + 1)
        #expect(after["owner_pid"] == 0)
        #expect(after["bus_master"] == 0)
        #expect(after["dma_buffers"] == 0)
        #expect(after["irq_mode"] == 0)
        let peek = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.builtFile(Self.peek), "--call", "peek", "4"])
        #expect(peek.stdout == "peek(4) = \(Self.releaseMarkerReadback)\n")
    }

    @Test func busMasteringIsOffDuringAttachAndOnOnceItReturned() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        // attach DMAs 64 bytes of edu's buffer (zeros) into memory filled with 0xab.
        let result = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.testPlugin("dma-in-attach"),
                                            "--call", "dma", "0", "--call", "dma", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "dma(0) = 64\ndma(1) = 0\n")
    }

    @Test func driverhostLogsTheDevicesDMAModeAndReset() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.builtFile(Self.edu), "--call", "liveness", "1"])
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("DMA") }
        #expect(lines == ["driverhost[sim:edu0]: info: device open: DMA confined, reset no (the release program is the only safety net)"])
    }

    @Test func anErrorTheDeviceReportsEndsTheDriverhostWithItsOwnExitCode() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let before = try devsim.status()
        let owner = try AttachedDriverhost(device: "sim:edu0", plugin: RepoPaths.builtFile(Self.peek), environment: devsim.environment)
        let injected = try devsim.injectError()
        #expect(injected.status == 0, "\(injected.stderr)")
        let (status, stderr) = owner.exit()
        #expect(status == 42)  // ExitCode.deviceError
        #expect(stderr.contains("error: the PCI core reported an error on the device (AER, channel state frozen, event 1); letting the device go"))
        // No orderly detach (peek.so logs "detach called"), but the release ran.
        #expect(!stderr.contains("detach called"))
        let after = try devsim.status()
        #expect(after["releases"] == before["releases"]! + 1)
        #expect(after["owner_pid"] == 0)
    }

    @Test func anOrderlyStopDetaches() throws {
        // The other side of the error test: peek.so does log its detach.
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let owner = try AttachedDriverhost(device: "sim:edu0", plugin: RepoPaths.builtFile(Self.peek), environment: devsim.environment)
        owner.process.terminate()
        let (status, stderr) = owner.exit()
        #expect(status == 0)
        #expect(stderr.contains("detach called"))
    }

    @Test func anErrorNeedsAnOwnerToReportItTo() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try devsim.injectError("edu0", ["perm-failure"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("sim:edu0: nobody owns the device: no driver to report the error to"))
        let bad = try devsim.injectError("edu0", ["thawed"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("inject-error: thawed is not frozen or perm-failure"))
    }

    @Test func aSecondOwnerIsTurnedAwayWithThePidOfTheFirst() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let owner = try AttachedDriverhost(device: "sim:edu0", plugin: RepoPaths.builtFile(Self.edu), environment: devsim.environment)
        defer { owner.kill() }
        let second = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.builtFile(Self.edu), "--call", "liveness", "1"])
        #expect(second.status == 20)  // ExitCode.deviceUnavailable
        #expect(second.stderr.contains("sim:edu0: busy (owned by pid \(owner.process.processIdentifier))"))
    }

    @Test func anUnknownSimulatedDeviceNamesTheOnesThatExist() throws {
        let devsim = try DevSim(["edu0=edu", "edu1=edu"])
        defer { _ = devsim.stop() }
        let result = try devsim.driverhost(["--device", "sim:edu7", "--plugin", RepoPaths.builtFile(Self.edu), "--call", "liveness", "1"])
        #expect(result.status == 20)
        #expect(result.stderr.contains("sim:edu7: no such simulated device; devsim in \(devsim.directory) has: sim:edu0, sim:edu1"))
    }

    @Test func withoutDevsimTheErrorSaysHowToStartIt() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("devsim-none-\(getpid())").path
        let result = try run(RepoPaths.binary("driverhost"), ["--device", "sim:edu0", "--plugin", RepoPaths.builtFile(Self.edu)],
                             environment: ["DRVHOST_SIM_DIR": empty])
        #expect(result.status == 20)
        #expect(result.stderr.contains("no devsim is serving \(empty) (start one: devsim --device edu0=edu)"))
    }

    @Test func aMalformedSimulatedNameIsAUsageError() throws {
        for device in ["sim:", "sim:a/b", "sim:../x"] {
            let result = try run(RepoPaths.binary("driverhost"), ["--device", device, "--plugin", RepoPaths.builtFile(Self.edu)])
            #expect(result.status == 2)
            #expect(result.stderr.contains("--device \(device): a simulated device is sim:NAME"))
        }
    }

    @Test func devsimRefusesAnUnknownModelAndNamesTheKnownOnes() throws {
        let result = try run(RepoPaths.binary("devsim"), ["--device", "x0=e1000", "--runtime-dir", "/nonexistent"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--device x0=e1000: unknown model \"e1000\" (known: edu)"))
        let twice = try run(RepoPaths.binary("devsim"), ["--device", "a=edu", "--device", "a=edu"])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("device name a given twice"))
    }

    @Test func listShowsEveryDeviceWithItsIdsOwnerAndReleases() throws {
        let devsim = try DevSim(["edu0=edu", "edu1=edu"])
        defer { _ = devsim.stop() }
        let owner = try AttachedDriverhost(device: "sim:edu1", plugin: RepoPaths.builtFile(Self.edu), environment: devsim.environment)
        defer { owner.kill() }
        let list = try run(RepoPaths.binary("devsim"), ["list", "--runtime-dir", devsim.directory])
        #expect(list.stdout == """
            sim:edu0 1234:11e8 1af4:1100 ff00 0 0
            sim:edu1 1234:11e8 1af4:1100 ff00 \(owner.process.processIdentifier) 0

            """)
    }

    @Test func sigtermStopsDevsimAndRemovesItsSockets() throws {
        let devsim = try DevSim()
        let socket = "\(devsim.directory)/edu0.sock"
        #expect(FileManager.default.fileExists(atPath: socket))
        #expect(devsim.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: socket))
    }
}
