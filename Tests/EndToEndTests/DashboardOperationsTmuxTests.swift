import Foundation
import Testing

/// The dashboard's share of the operations surface (issue 6): its `--metrics` file, read by Prometheus's own
/// parser, and `c`, which copies through the desktop's clipboard tool, or says that it cannot.
@Suite(.serialized)
struct DashboardOperationsTmuxTests {
    @Test func theDashboardWritesAMetricsFilePrometheusParses() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // acme-alice has expired and its token URL is dead: the dashboard's refresh fails, and the file counts it.
        try CommandLineTests.importExpired(into: sandbox)
        let directory = sandbox.root.appendingPathComponent("textfile")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let metrics = directory.appendingPathComponent("tokentop.prom").path
        let tmux = try Tmux(environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) --metrics \(metrics); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-alice") }
        try #require(screen.contains("acme-alice"), "no dashboard:\n\(screen)")
        let failures = "tokentop_refresh_failures_total{provider=\"acme\",reason=\"network_error\"}"
        try await DaemonOperationsTests.waitFor(20, "a metrics file counting the failure") {
            DaemonOperationsTests.read(metrics).contains(failures)
        }

        let samples = try await DaemonOperationsTests.expectMetricsParse(metrics)
        let connections = samples.filter { ($0[0] as? String) == "tokentop_connections" }
        #expect(connections.compactMap { $0[2] as? Double }.reduce(0, +) == 2, "\(connections)")
        // Written atomically: only the finished file is in the collector's directory, never a half-written one.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["tokentop.prom"])
        // The file's writer raised no notice, and the dashboard quits cleanly.
        screen = try tmux.capture()
        #expect(!screen.split(separator: "\n").contains { $0.hasPrefix(" ! ") }, "a notice:\n\(screen)")
        try tmux.send("q")
        screen = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
        let text = DaemonOperationsTests.read(metrics)
        for secret in ["fake-refresh-token-0001", "fake-access-token-0001", "fake-client-secret-0001", "fake-api-key"] {
            #expect(!text.contains(secret), "\(secret) in the metrics file")
        }
    }

    /// Quitting with an event command still running waits for it a few seconds and says so; a second Ctrl-C kills
    /// it and exits at once. The command runs in a process group of its own, which the terminal's Ctrl-C does not
    /// reach: it outlived a dashboard killed by that second Ctrl-C.
    @Test func aSecondCtrlCKillsTheRunningEventCommandAndExits() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let (tmux, pid) = try await Self.demoRunningAnEventCommand(sandbox)
        try tmux.send("C-c")
        var screen = try await tmux.wait { $0.contains("for the --on-event command to finish") }
        let waiting = "waiting at most 5s for the --on-event command to finish; Ctrl-C kills it now"
        #expect(screen.contains(waiting), "\(screen)")
        try tmux.send("C-c")
        screen = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 130, "\(screen)")
        // Each Ctrl-C says its own line once: the first as it closes the dashboard, the second (after the
        // terminal's `^C`) as it cuts the wait.
        let lines = screen.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("tokentop: interrupted by signal 2") }.count == 1, "\(screen)")
        #expect(
            lines.filter { $0.contains("tokentop: interrupted again by signal 2: stopped without waiting") }.count
                == 1, "\(screen)")
        // Killed and reaped before the exit: no process is left with that id.
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the event command outlived the dashboard")
    }

    /// Two SIGINT 30 ms apart (a quick double Ctrl-C), the second before the dashboard has closed: it is not lost
    /// (the dashboard's trap took both as one), and the stop does not wait out the event command's grace.
    @Test func twoQuickCtrlCStopWithoutWaiting() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let (tmux, pid) = try await Self.demoRunningAnEventCommand(sandbox)
        // Sent to the dashboard's process straight, 30 ms apart: two `tmux send-keys` took seconds each under the
        // whole suite's load, and two keys in one are one signal to the kernel. The event command's parent is the
        // dashboard.
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        let dashboard = try #require(Int32(fields[1]), "\(stat)")
        kill(dashboard, SIGINT)
        usleep(30_000)
        kill(dashboard, SIGINT)
        let screen = try await tmux.wait(timeout: 4) { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 130, "waited:\n\(screen)")
        #expect(screen.contains("tokentop: interrupted again by signal 2: stopped without waiting"), "\(screen)")
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "the event command outlived the dashboard")
    }

    /// Opens the demo with an event command that writes its pid and sleeps, and presses `r`: an operator's refresh
    /// is an event, so the command starts and keeps running. Returns the terminal and the command's pid.
    static func demoRunningAnEventCommand(_ sandbox: Sandbox) async throws -> (Tmux, Int32) {
        let pidFile = sandbox.root.appendingPathComponent("event.pid").path
        let tmux = try Tmux(width: 160, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send(
            "\(Binary.path) demo --on-event 'echo $$ > \(pidFile); exec sleep 300'; echo \"exit\"=$?", literal: true)
        try tmux.send("Enter")
        _ = try await tmux.wait(timeout: 30) { $0.contains("acme-alice") }
        try tmux.send("r")
        let written = { Int32(DaemonOperationsTests.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)) }
        try await DaemonOperationsTests.waitFor(20, "the event command's pid") { written() != nil }
        let pid = try #require(written())
        #expect(kill(pid, 0) == 0, "the event command is running")
        return (tmux, pid)
    }

    /// Opens the demo in a terminal with `environment` and puts the cursor on acme-bob.
    static func demoOnAcmeBob(_ sandbox: Sandbox, environment: [String: String]) async throws -> Tmux {
        let tmux = try Tmux(
            width: 200, environment: sandbox.environment.merging(environment) { $1 }, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo; echo \"exit\"=$?", "Enter")
        _ = try await tmux.wait(timeout: 30) { $0.contains("acme-alice") }
        try tmux.send("/")
        try tmux.send("acme-bob", literal: true)
        try tmux.send("Enter")
        let screen = try await tmux.wait(timeout: 20) {
            DashboardTmuxTests.row(of: "acme-bob", in: $0) != nil && !$0.contains("acme-alice")
        }
        try #require(DashboardTmuxTests.row(of: "acme-bob", in: screen) != nil, "not filtered:\n\(screen)")
        return tmux
    }

    /// A stand-in for the desktop's clipboard tool: a script of the test's own that keeps what it was given.
    @Test(arguments: [
        ("xclip", "DISPLAY", ":99", "-selection clipboard"), ("wl-copy", "WAYLAND_DISPLAY", "wayland-9", ""),
    ])
    func cCopiesThroughTheDesktopsClipboardTool(
        tool: String, display: String, value: String, flags: String
    ) async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let bin = sandbox.root.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let clip = sandbox.root.appendingPathComponent("clipboard").path
        let arguments = sandbox.root.appendingPathComponent("arguments").path
        let source = sandbox.root.appendingPathComponent("\(tool).sh").path
        try Data("#!/bin/sh\nprintf '%s\\n' \"$*\" > '\(arguments)'\ncat > '\(clip)'\n".utf8)
            .write(to: URL(fileURLWithPath: source))
        try Unprivileged.installExecutable(from: source, to: bin.appendingPathComponent(tool).path)
        var environment = ["PATH": "\(bin.path):/usr/local/bin:/usr/bin:/bin", "DISPLAY": "", "WAYLAND_DISPLAY": ""]
        environment[display] = value
        let tmux = try await Self.demoOnAcmeBob(sandbox, environment: environment)
        try tmux.send("c")
        var screen = try await tmux.wait { $0.contains("copied acme-bob") }
        #expect(screen.contains("copied acme-bob (\(tool))"), "\(screen)")
        // The id went to the tool on its standard input, whole and alone; the flags are the tool's usual ones.
        #expect(DaemonOperationsTests.read(clip) == "acme-bob")
        #expect(DaemonOperationsTests.read(arguments) == flags + "\n")
        try tmux.send("Escape")
        try tmux.send("q")
        screen = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
    }

    @Test func cWithNeitherToolNorOSC52SaysSo() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // No display for any tool, and OSC 52 turned off: nothing can take the text.
        let tmux = try await Self.demoOnAcmeBob(
            sandbox, environment: ["DISPLAY": "", "WAYLAND_DISPLAY": "", "TOKENTOP_NO_CLIPBOARD": "1"])
        try tmux.send("c")
        let message = "cannot copy acme-bob: no clipboard tool (wl-copy, xclip, xsel) and this terminal takes no OSC 52"
        var screen = try await tmux.wait { $0.contains("cannot copy") }
        #expect(screen.contains(message), "\(screen)")
        // Nothing reached tmux's clipboard either.
        #expect((try? Tmux.tmux(["-S", tmux.socket, "show-buffer"])) ?? "" == "")
        try tmux.send("Escape")
        try tmux.send("q")
        screen = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
    }

    @Test func cWithoutAToolSendsOSC52ThatTmuxTakes() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try await Self.demoOnAcmeBob(sandbox, environment: ["DISPLAY": "", "WAYLAND_DISPLAY": ""])
        // tmux keeps what an application sends with OSC 52 as a paste buffer once set-clipboard is on.
        try Tmux.tmux(["-S", tmux.socket, "set-option", "-s", "set-clipboard", "on"])
        try tmux.send("c")
        var screen = try await tmux.wait { $0.contains("copied acme-bob") }
        #expect(screen.contains("copied acme-bob to the terminal's clipboard (OSC 52"), "\(screen)")
        #expect(try Tmux.tmux(["-S", tmux.socket, "show-buffer"]) == "acme-bob")
        try tmux.send("Escape")
        try tmux.send("q")
        screen = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
    }
}
