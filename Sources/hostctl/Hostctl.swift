import ArgumentParser

@main
struct Hostctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hostctl",
        abstract: "Control hostd, the drvhost supervisor of user-space PCI drivers.",
        discussion: """
            hostctl talks to hostd over its control socket (--socket, or \
            DRVHOST_SOCKET, default \(defaultSocketPath)). Reading commands \
            (list, devices, status, logs, watch, metrics) work for anyone who can connect; load, \
            unload, restart, call and trace need root or membership in group drvhost.

            Exit codes:
              0   success
              1   hostd refused the request (its error code and message go to stderr)
              64  usage error: bad arguments or options
              69  hostd is not running or the socket cannot be reached
              76  hostd answered something that is not the control protocol
              77  permission denied (by the socket's mode or by hostd)
            """,
        subcommands: [Load.self, Unload.self, List.self, Devices.self, Status.self,
                      Restart.self, Call.self, Logs.self, Watch.self, Trace.self, Metrics.self, Completions.self]
    )
}
