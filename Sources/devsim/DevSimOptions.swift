import DevSimCore
import DriverHostCore
import DevSimClient

/// devsim's command line, parsed by hand like driverhost's.
struct DevSimOptions {
    struct Device: Equatable {
        var name: String
        var model: String
    }

    enum Command: Equatable {
        case serve([Device])
        case status(String)
        /// An AER error for the device's owner: pci_channel_state_t.
        case injectError(String, channelState: UInt32)
        case list
        case listModels
        case help
    }

    var command = Command.help
    var directory = DevSimConnection.defaultDirectory

    static let help = """
        usage: devsim --device NAME=MODEL [--device NAME=MODEL ...] [--runtime-dir DIR]
               devsim status NAME [--runtime-dir DIR]
               devsim inject-error NAME [frozen|perm-failure] [--runtime-dir DIR]
               devsim list [--runtime-dir DIR]
               devsim --list-models

        Simulates PCI devices behind the drvproxy contract, so that driverhost
        and plugins run without the kernel module: `driverhost --device
        sim:NAME` opens one. Each device listens on DIR/NAME.sock. devsim prints
        one line per device, then "ready"; SIGTERM or SIGINT stops it (owners
        still attached get their release sequence run first).

        `status NAME` prints the device's counters (interrupts, releases, owner,
        bus mastering, ...), like drvproxy's sysfs files. `list` prints one line
        per device served in DIR: address, vendor:device, subsystem, class,
        owner pid (0: free), releases.

        `inject-error NAME` makes the device report an error as the PCI core
        reports an AER error: its owner reads an ERROR event (channel state
        frozen, the default, or perm-failure) and should let the device go.
        Fails (exit 3) when nobody owns the device.

        options:
          --device NAME=MODEL   a device NAME ([A-Za-z0-9_-]+) of model MODEL
          --runtime-dir DIR     where the sockets are (default: $DRVHOST_SIM_DIR,
                                else $XDG_RUNTIME_DIR/drvhost-sim, else
                                /run/drvhost/sim as root, /tmp/drvhost-sim-UID)
          --list-models         the models this devsim knows
          --help                this text
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    init(parsing arguments: [String]) throws(UsageError) {
        var rest = arguments[...]
        var devices: [Device] = []
        var status: String?
        var injectError: (String, UInt32)?
        var list = false
        var listModels = false
        var help = arguments.isEmpty
        if rest.first == "status" {
            rest = rest.dropFirst()
            guard let name = rest.popFirst(), !name.hasPrefix("--") else { throw UsageError(description: "status needs a device NAME") }
            status = name.hasPrefix(SimDevice.prefix) ? String(name.dropFirst(SimDevice.prefix.count)) : name
        } else if rest.first == "inject-error" {
            rest = rest.dropFirst()
            guard let name = rest.popFirst(), !name.hasPrefix("--") else { throw UsageError(description: "inject-error needs a device NAME") }
            var state: UInt32 = 2  // pci_channel_io_frozen
            if let word = rest.first, !word.hasPrefix("--") {
                rest = rest.dropFirst()
                switch word {
                case "frozen": state = 2
                case "perm-failure": state = 3
                default: throw UsageError(description: "inject-error: \(word) is not frozen or perm-failure")
                }
            }
            injectError = (name.hasPrefix(SimDevice.prefix) ? String(name.dropFirst(SimDevice.prefix.count)) : name, state)
        } else if rest.first == "list" {
            rest = rest.dropFirst()
            list = true
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--device":
                guard let spec = rest.popFirst() else { throw UsageError(description: "--device needs NAME=MODEL") }
                devices.append(try DevSimOptions.device(spec))
            case "--runtime-dir":
                guard let dir = rest.popFirst(), !dir.isEmpty else { throw UsageError(description: "--runtime-dir needs a directory") }
                directory = dir
            case "--list-models": listModels = true
            case "--help", "-h": help = true
            default: throw UsageError(description: "unknown option \(flag)")
            }
        }
        if help {
            command = .help
        } else if listModels {
            command = .listModels
        } else if let status {
            command = .status(status)
        } else if let (name, state) = injectError {
            command = .injectError(name, channelState: state)
        } else if list {
            command = .list
        } else {
            guard !devices.isEmpty else { throw UsageError(description: "no --device given") }
            var seen = Set<String>()
            for device in devices where !seen.insert(device.name).inserted {
                throw UsageError(description: "device name \(device.name) given twice")
            }
            command = .serve(devices)
        }
    }

    static func device(_ spec: String) throws(UsageError) -> Device {
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw UsageError(description: "--device \(spec): expected NAME=MODEL, e.g. edu0=edu") }
        let (name, model) = (parts[0], parts[1])
        guard SimDevice.name(fromDevice: SimDevice.prefix + name) != nil else {
            throw UsageError(description: "--device \(spec): a name is letters, digits, - and _")
        }
        guard DeviceModels.all[model] != nil else {
            throw UsageError(description: "--device \(spec): unknown model \"\(model)\" (known: \(DeviceModels.names.joined(separator: ", ")))")
        }
        return Device(name: name, model: model)
    }
}
