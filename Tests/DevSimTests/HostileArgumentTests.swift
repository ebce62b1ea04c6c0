import Foundation
import Testing
import TestSupport

/// Every host-table function called with hostile arguments (hostile-args.so,
/// Tests/Plugins/hostile.c) against a devsim device: each answers its
/// documented error and the driverhost lives on to print the command's result.
@Suite(.serialized) struct HostileArgumentTests {
    static let invalid = "-1", notFound = "-7", timeout = "-5", ok = "0"
    static let allOnes32 = "4294967295"

    /// What each call must answer ("0" for a void call that came back).
    static let expected: [String: String] = [
        "log_null_inst": ok, "log_fake_inst": ok, "log_level_99": ok, "log_level_neg": ok, "log_null_msg": ok,
        "read8_null_inst": "255", "read16_fake_inst": "65535",
        "read32_bar6": allOnes32, "read32_bar_max": allOnes32, "read32_offset_max": allOnes32,
        "read32_misaligned": allOnes32, "read64_offset_near_max": "1",
        "write8_null_inst": ok, "write32_offset_max": ok, "write64_bar_max": ok,
        "bar_pointer_null_inst": invalid, "bar_pointer_bar6": invalid, "bar_pointer_bar_max": invalid,
        "bar_pointer_null_out": invalid,
        "dma_set_mask_null_inst": invalid, "dma_set_mask_0": invalid, "dma_set_mask_65": invalid,
        "dma_set_mask_max": invalid,
        "dma_alloc_null_inst": invalid, "dma_alloc_0": invalid, "dma_alloc_max": invalid,
        "dma_alloc_null_out": invalid, "dma_alloc_real": ok,
        "dma_free_null_inst": invalid, "dma_free_null": notFound, "dma_free_alias": notFound,
        "dma_free_max": notFound, "dma_free_real": ok, "dma_free_twice": notFound,
        "unmask_null_inst": invalid,
        "timer_start_null_inst": invalid, "timer_start_id_max": invalid, "timer_start_id_16": invalid,
        "timer_start_first_0": invalid, "timer_start_times_max": ok,
        "timer_stop_id_max": invalid, "timer_stop_null_inst": invalid, "timer_stop_0": ok,
        "state_save_null_inst": invalid, "state_save_null_data": invalid, "state_save_size_max": invalid,
        "state_save_too_big": invalid, "state_load_null_inst": invalid, "state_load_null_size": invalid,
        "instance_info_null_inst": invalid, "instance_info_null": invalid, "instance_info_size_0": invalid,
        "instance_info_size_max": ok, "instance_info_size_max_filled": "112",  // sizeof(struct dh_instance_info), ABI 1.2
        "wait_events_null_inst": invalid, "wait_events_fake_inst": invalid, "wait_events_0_idle": timeout,
        "wait_events_max_pending": ok, "wait_events_max_seen": "5", "wait_events_max_minus_1_pending": ok,
        "get_extension_null_id": ok, "get_extension_null_inst": ok,
    ]

    @Test func everyHostFunctionAnswersHostileArgumentsWithAnError() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let started = ContinuousClock.now
        let result = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.testPlugin("hostile-args"),
                                            "--call", "hostile", "0", "--call", "raise", "3"])
        // Alive after all of it, and still driving the device.
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "hostile(0) = \(Self.expected.count)\nraise(3) = 3\n")
        // wait_events(UINT64_MAX) with an event pending returned at once.
        #expect(ContinuousClock.now - started < .seconds(20))
        var answers: [String: String] = [:]
        for line in result.stderr.split(separator: "\n") {
            guard let range = line.range(of: "hostile: hostile ") else { continue }
            let parts = line[range.upperBound...].split(separator: " = ")
            if parts.count == 2 { answers[String(parts[0])] = String(parts[1]) }
        }
        for (call, answer) in Self.expected.sorted(by: { $0.key < $1.key }) {
            #expect(answers[call] == answer, "\(call)")
        }
        #expect(answers.count == Self.expected.count)
    }
}

/// A plugin cannot buy itself unbounded time: huge-bound.so declares
/// callback_timeout_ms = UINT32_MAX (49 days) and spins in interrupt().
@Suite(.serialized) struct CallbackCapTests {
    @Test func theWatchdogEndsAHugeDeclaredBoundAtTheHostsCap() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let started = ContinuousClock.now
        let result = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.testPlugin("huge-bound"),
                                            "--max-callback-ms", "300", "--call", "raise", "1"])
        #expect(result.status == 40, "\(result.stderr)")  // ExitCode.watchdog
        #expect(result.stderr.contains("declared bounds capped: attach 60000 ms, callbacks 300 ms"))
        #expect(result.stderr.contains("watchdog: plugin interrupt() ran longer than 300 ms"))
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}

/// Plugin text reaches a terminal with its controls shown, not obeyed:
/// nasty-strings.so's version holds ESC [2J and its log line ESC ]0;, DEL
/// and a C1 CSI. --describe (machine output) keeps the exact string.
@Suite(.serialized) struct PluginTextEscapingTests {
    @Test func logLinesAndTheVersionAreEscapedOnStderr() throws {
        let devsim = try DevSim()
        defer { _ = devsim.stop() }
        let result = try devsim.driverhost(["--device", "sim:edu0", "--plugin", RepoPaths.testPlugin("nasty-strings"),
                                            "--call", "shout", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(#"plugin nasty-strings 1.0\x1b[2J attached"#), "\(result.stderr)")
        #expect(result.stderr.contains(#"nasty-strings: title \x1b]0;owned\x07 del \x7f c1 \x9b2J utf8 é"#), "\(result.stderr)")
        #expect(!result.stderr.unicodeScalars.contains { TerminalControl.isControl($0) && $0 != "\n" })
    }

    @Test func describeCarriesTheExactVersion() throws {
        let result = try run(RepoPaths.binary("driverhost"), ["--describe", "--plugin", RepoPaths.testPlugin("nasty-strings")])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["version"] as? String == "1.0\u{1b}[2J")
    }
}

enum TerminalControl {
    static func isControl(_ scalar: Unicode.Scalar) -> Bool { scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) }
}
