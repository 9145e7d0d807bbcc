import Foundation
import Synchronization

/// What runs beside the refresh actor in the daemon and the dashboard: the `--metrics` file, rewritten every few
/// seconds, and the `--on-event` command, run for each event this process causes. Both can change on a reload.
public final class OperationsLoop: Sendable {
    /// Seconds between two writes of the metrics file.
    public static let metricsInterval = 5.0

    private struct Config {
        var metricsFile: String?
        var hooks: HookRunner?
        var lastMetricsProblem: String?
    }

    private let engine: Engine
    private let log: @Sendable (String, [String: String]) -> Void
    private let config = Mutex(Config())
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// - Parameter log: where problems go (a daemon's log line, or the dashboard's notice); never a secret.
    public init(engine: Engine, log: @escaping @Sendable (String, [String: String]) -> Void) {
        self.engine = engine
        self.log = log
    }

    /// Takes the metrics file and the event command from `settings`; an event command already running finishes.
    public func apply(_ settings: Settings) {
        let hooks = settings.onEvent.map { command in
            HookRunner(command: command, timeout: settings.onEventTimeout ?? 10, log: log)
        }
        config.withLock { config in
            config.metricsFile = settings.metricsFile
            config.hooks = hooks
            config.lastMetricsProblem = nil
        }
    }

    /// Starts following the engine's events and writing metrics.
    public func start() {
        task.withLock { running in
            guard running == nil else { return }
            running = Task { [self] in await run() }
        }
    }

    /// Stops, hands the command the events that came since the last look, writes the metrics one last time, and
    /// gives queued event commands a few seconds (``HookRunner/stopGrace``). Call it after the engine stopped, so
    /// that those events include the outcomes of the refreshes that were in flight.
    public func stop() async {
        let running = task.withLock { running -> Task<Void, Never>? in
            defer { running = nil }
            return running
        }
        running?.cancel()
        await running?.value
        writeMetrics()
        config.withLock { $0.hooks }?.finish()
    }

    /// Whether an event command is running or an event waits for one: a stopping process says why it waits.
    public var eventCommandsBusy: Bool { config.withLock { $0.hooks }?.isBusy ?? false }

    /// Kills the running event command and drops the queued events now, while ``stop()`` may be waiting for them:
    /// for a second Ctrl-C, so that no command outlives the process.
    public func abandonEventCommands() {
        config.withLock { $0.hooks }?.finish(within: 0)
    }

    private func run() async {
        var cursor = EventCursor(after: engine.snapshot())
        var filter = HookEventFilter(engine.snapshot())
        var lastWrite = Date.distantPast
        while true {
            // Read before the snapshot: once cancelled (after the engine stopped), one pass more hands the command
            // the events of the refreshes that were still in flight.
            let last = Task.isCancelled
            let snapshot = engine.snapshot()
            let now = engine.timeSource.now()
            let hooks = config.withLock { $0.hooks }
            for entry in cursor.unseen(in: snapshot) {
                // The filter sees every entry, with or without a command, so `recovered` stays right after a
                // reload adds one.
                guard let event = filter.event(for: entry, in: snapshot, at: now, lookup: engine.connection)
                else { continue }
                hooks?.submit(event)
            }
            if last { break }
            if Date().timeIntervalSince(lastWrite) >= Self.metricsInterval {
                writeMetrics()
                lastWrite = Date()
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
    }

    private func writeMetrics() {
        guard let path = config.withLock({ $0.metricsFile }) else { return }
        let text = PrometheusExposition.text(engine.snapshot(), metrics: engine.metrics, at: engine.timeSource.now())
        do {
            try Self.checkReplaceable(path)
            try AtomicFile.write(text, to: path)
            config.withLock { $0.lastMetricsProblem = nil }
        } catch {
            // Said once per problem, not every five seconds.
            let problem = "\(error)"
            let fresh = config.withLock { config -> Bool in
                defer { config.lastMetricsProblem = problem }
                return config.lastMetricsProblem != problem
            }
            if fresh { log("metrics file not written", ["path": path, "reason": problem]) }
        }
    }

    /// Checks `settings` before anything starts: a metrics file that cannot be written is an error at start-up,
    /// as a log file that cannot be opened is, rather than a line in the log later.
    public static func check(_ settings: Settings) throws {
        guard let path = settings.metricsFile else { return }
        // Replaced whole every 5 seconds, it would wipe the log, and the log's lines would stop the replacing.
        if let log = settings.logFile {
            try ReplaceableFile.refuse(path, ifItIs: [(log, "the log file as well (--log, log_file)")])
        }
        try checkReplaceable(path)
        let folder = Paths.folder(of: path)
        guard access(folder, W_OK | X_OK) == 0 else {
            throw AtomicFileError(
                description: "cannot write the metrics file \(path): its folder \(folder) "
                    + "\(FileManager.default.fileExists(atPath: folder) ? "is not writable" : "does not exist")")
        }
    }

    /// Refuses to replace a file that is not an earlier metrics file of ours: a mistyped `--metrics` must not
    /// overwrite the database or the key.
    static func checkReplaceable(_ path: String) throws {
        try ReplaceableFile.check(path, signature: PrometheusExposition.signature, kind: "a metrics file")
    }
}
