import CDrvHost
import DriverHostCore
import Foundation
import Testing
import TestSupport
import DrvHostProtocol

/// The driverhost binary: exit codes and messages, as a supervisor sees them.
@Suite struct ProcessTests {
    @Test func refusesAnotherABIMajorWithoutOpeningTheDevice() throws {
        // The device node does not exist: had driverhost tried to open it,
        // it would have exited with deviceUnavailable instead.
        let run = try runDriverhost(["--device", "0000:00:05.0", "--device-node", "/nonexistent/drvproxy",
                                     "--plugin", RepoPaths.testPlugin("abi2")])
        #expect(run.status == ExitCode.abiMismatch.rawValue)
        #expect(run.stderr.contains("was built for drvhost plugin ABI 2.\(DH_ABI_MINOR); this driverhost implements ABI 1.\(DH_ABI_MINOR)"))
        #expect(!run.stderr.contains("cannot open"))
    }

    @Test func reportsAMissingDevice() throws {
        let run = try runDriverhost(["--device", "0000:00:05.0", "--device-node", "/nonexistent/drvproxy",
                                     "--plugin", RepoPaths.testPlugin("good")])
        #expect(run.status == ExitCode.deviceUnavailable.rawValue)
    }

    /// A restart hands over the instance's class device; a plugin that no
    /// longer offers that class must not leave it hanging unnoticed.
    @Test func aPluginWithoutTheInstancesDeviceClassIsRefused() throws {
        let run = try runDriverhost(["--simulate", "--plugin", RepoPaths.testPlugin("good"), "--class-device", "block:ublkb0"])
        #expect(run.status == ExitCode.deviceClassFailed.rawValue)
        #expect(run.stderr.contains("offers no device class, but this instance has the block device ublkb0"))
    }

    @Test func attachFailureIsItsOwnExitCode() throws {
        let run = try runDriverhost(["--simulate", "--plugin", RepoPaths.testPlugin("attach-fails")])
        #expect(run.status == ExitCode.attachFailed.rawValue)
        #expect(run.stderr.contains("attach failed (DH_ERR_DEVICE)"))
    }

    @Test func watchdogEndsAHungCallback() throws {
        let run = try runDriverhost(["--simulate", "--plugin", RepoPaths.testPlugin("hang-interrupt"), "--call", "raise", "1"])
        #expect(run.status == ExitCode.watchdog.rawValue)
        #expect(run.stderr.contains("watchdog: plugin interrupt() ran longer than 300 ms"))
    }

    @Test func aCrashingPluginTakesOnlyItsProcess() throws {
        let run = try runDriverhost(["--simulate", "--plugin", RepoPaths.testPlugin("crash-interrupt"), "--call", "raise", "1"])
        #expect(run.signalled)
        #expect(run.status == SIGSEGV)
    }

    @Test func printsCallResults() throws {
        let run = try runDriverhost(["--simulate", "--plugin", RepoPaths.testPlugin("good"),
                                     "--call", "run", "100", "--call", "add", "2", "3"])
        #expect(run.status == 0)
        #expect(run.stdout == "run(100) = 100\nadd(2,3) = 5\n")
    }

    @Test func usageErrorsShowHelp() throws {
        let run = try runDriverhost(["--plugin"])
        #expect(run.status == ExitCode.usage.rawValue)
        #expect(run.stderr.contains("usage: driverhost"))
    }

    @Test func sigtermDetachesAndExitsZero() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RepoPaths.binary("driverhost"))
        process.arguments = ["--simulate", "--plugin", RepoPaths.testPlugin("good")]
        let err = Pipe()
        process.standardError = err
        try process.run()
        // Wait for the "attached" log line, not for a time.
        var seen = ""
        while !seen.contains("attached") {
            let chunk = err.fileHandleForReading.availableData
            guard !chunk.isEmpty else { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(seen.contains("attached"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}
