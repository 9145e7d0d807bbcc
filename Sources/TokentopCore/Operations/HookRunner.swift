import Dispatch
import Foundation
import Synchronization

/// Runs an operator's command for each event (`--on-event CMD`): `/bin/sh -c CMD` with the event's JSON on
/// standard input, one at a time, each killed after `timeout` seconds.
///
/// It never blocks the refresh actor: events wait in a bounded queue, served by a thread of its own; when the
/// command falls so far behind that the queue is full, further events are dropped and that is logged. A failing
/// or slow command is logged, never fatal.
public final class HookRunner: Sendable {
    /// Events that may wait before new ones are dropped.
    public static let backlogLimit = 256

    private let command: String
    private let timeout: Double
    private let log: @Sendable (String, [String: String]) -> Void
    private let queue = DispatchQueue(label: "tokentop.hooks")
    private let waiting = Mutex(0)
    /// Once the process stops: the moment (uptime, ns) by which every command must have ended, and how many
    /// queued events were not handed to one because of it.
    private let stopping = Mutex<(deadline: UInt64, skipped: Int)?>(nil)
    /// How long a stopping process gives the commands still queued or running: a backlog of slow commands
    /// (256 events × their timeout) must not hold a daemon's stop, or a dashboard's quit, for minutes.
    public static let stopGrace = 5.0

    /// - Parameters:
    ///   - command: run with `sh -c`; the event arrives on its standard input.
    ///   - timeout: seconds before the command's process group is killed.
    ///   - log: where failures, timeouts and drops are reported: a message and fields, never a secret.
    public init(command: String, timeout: Double, log: @escaping @Sendable (String, [String: String]) -> Void) {
        self.command = command
        self.timeout = timeout
        self.log = log
        // A command that exits without reading its input must not take this process down with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
    }

    /// Queues `event` for the command; returns false (and logs) when the backlog is full.
    @discardableResult
    public func submit(_ event: HookEvent) -> Bool {
        let accepted = waiting.withLock { count -> Bool in
            guard count < Self.backlogLimit else { return false }
            count += 1
            return true
        }
        guard accepted else {
            log(
                "event command behind, event dropped",
                ["event": event.kind.rawValue, "connection.id": event.entry.connectionID])
            return false
        }
        let input = Data((event.json + "\n").utf8)
        queue.async { [self] in
            defer { waiting.withLock { $0 -= 1 } }
            let late = stopping.withLock { state -> Bool in
                guard let deadline = state?.deadline, DispatchTime.now().uptimeNanoseconds >= deadline else {
                    return false
                }
                state?.skipped += 1
                return true
            }
            guard !late else { return }
            let outcome = Self.run(command, input: input, timeout: timeout) { [self] in
                stopping.withLock { $0?.deadline }
            }
            var fields = ["event": event.kind.rawValue, "connection.id": event.entry.connectionID]
            switch outcome {
            case .exited(0): return
            case .exited(let status):
                fields["exit.status"] = String(status)
                log("event command failed", fields)
            case .killed(let signal):
                fields["signal"] = String(signal)
                log("event command killed by a signal", fields)
            case .timedOut:
                fields["timeout.seconds"] = PrometheusExposition.number(timeout)
                log("event command timed out and was killed", fields)
            case .stopped:
                log("stopping: event command killed", fields)
            case .notStarted(let reason):
                fields["reason"] = reason
                log("event command could not start", fields)
            }
        }
        return true
    }

    /// Waits until every queued event's command has finished or been killed.
    public func drain() {
        queue.sync {}
    }

    /// Whether a command is running or an event waits for one.
    public var isBusy: Bool { waiting.withLock { $0 > 0 } }

    /// Gives the queued and running commands `grace` seconds, then kills the one still running and drops the
    /// rest, saying how many: for a process that stops. A second call, from another thread while the first waits,
    /// may shorten the grace (0 kills the running command now).
    public func finish(within grace: Double = stopGrace) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
        stopping.withLock { $0 = (min($0?.deadline ?? .max, deadline), $0?.skipped ?? 0) }
        queue.sync {}
        let skipped = stopping.withLock { $0?.skipped ?? 0 }
        if skipped > 0 { log("stopping: event commands not run", ["events": String(skipped)]) }
    }

    /// How a command run by ``run(_:input:timeout:stopBy:)`` ended.
    public enum Outcome: Equatable, Sendable {
        case exited(Int32)
        case killed(Int32)
        case timedOut
        /// Killed because this process stopped (see ``finish(within:)``).
        case stopped
        case notStarted(String)
    }

    /// Runs `sh -c command` in a process group of its own, feeds it `input`, and waits at most `timeout`.
    /// - Parameter stopBy: an earlier end (uptime, ns) that may come while it runs: the process is stopping.
    public static func run(
        _ command: String, input: Data, timeout: Double, stopBy: @Sendable () -> UInt64? = { nil }
    ) -> Outcome {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { return .notStarted(String(cString: strerror(errno))) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipe[0], 0)
        posix_spawn_file_actions_addclose(&actions, pipe[1])
        // Its output is not ours to show: a command that wants a record writes one itself.
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of ours: a command (or what it leaves running) held libcurl's wake-up sockets and its own
        // pipe's other copy. A C library before glibc 2.34 cannot, and they are inherited there as before.
        _ = SpawnActions.closeFrom(3, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a timeout kills what the shell started too; default signals, none blocked
        // (a test runner's threads block some, and a child would inherit that).
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let arguments = ["/bin/sh", "-c", command]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // Everything of ours but the key: see ChildEnvironment.
        let spawned = ChildEnvironment.withEntries { posix_spawn(&pid, "/bin/sh", &actions, &attributes, &argv, $0) }
        close(pipe[0])
        guard spawned == 0 else {
            close(pipe[1])
            return .notStarted(String(cString: strerror(spawned)))
        }
        // A command that does not read its input closes the pipe: the write then fails with EPIPE (SIGPIPE is
        // ignored, see init), which is fine. The event is far smaller than a pipe's buffer, so it never blocks.
        input.withUnsafeBytes { buffer in
            _ = Glibc.write(pipe[1], buffer.baseAddress, min(buffer.count, 65_536))
        }
        close(pipe[1])
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { return .notStarted(String(cString: strerror(errno))) }
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline || now >= stopBy() ?? .max {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                return now >= deadline ? .timedOut : .stopped
            }
            usleep(10_000)
        }
        if status & 0x7f == 0 { return .exited((status >> 8) & 0xff) }
        return .killed(status & 0x7f)
    }
}
