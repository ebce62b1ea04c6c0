import FoundationEssentials

/// The driver each claimed device had before hostd moved it to drvproxy,
/// kept in the state directory so that a hostd started after a crash (or
/// kill -9) of the previous one can still put it back on unload.
struct BindingStore {
    let directory: String

    private func path(_ bdf: String) -> String { "\(directory)/\(bdf)" }

    func save(_ bdf: String, _ previous: DeviceBinder.Previous) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = "driver=\(previous.driver ?? "")\noverride=\(previous.driverOverride ?? "")\n"
        _ = FileManager.default.createFile(atPath: path(bdf), contents: Data(text.utf8))
    }

    func remove(_ bdf: String) {
        try? FileManager.default.removeItem(atPath: path(bdf))
    }

    func loadAll() -> [String: DeviceBinder.Previous] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var out: [String: DeviceBinder.Previous] = [:]
        for bdf in names {
            guard let text = FileManager.default.contents(atPath: path(bdf)).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            var previous = DeviceBinder.Previous(driver: nil, driverOverride: nil)
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[1].isEmpty else { continue }
                if parts[0] == "driver" { previous.driver = parts[1] }
                if parts[0] == "override" { previous.driverOverride = parts[1] }
            }
            out[bdf] = previous
        }
        return out
    }
}
