import Dispatch
import Foundation
import TokentopCore

/// `tokentop daemon`: the refresh actor without a terminal, logging JSON lines until SIGTERM or SIGINT.
///
/// SIGHUP reloads the configuration: the lead window and concurrency, the metrics file, the event command, the
/// certificate authorities file, and the log file, which is opened again (as logrotate expects).
struct Daemon {
    var engine: Engine
    /// The engine's network, which a reload points at another `ca_file`.
    var transport: CurlTransport
    var settings: Settings
    /// Reads the configuration again, as at start-up (the flags still win over the file).
    var reload: @Sendable () throws -> EffectiveConfiguration

    func run() async throws -> Int32 {
        try OperationsLoop.check(settings)
        try JSONLinesLog.check(settings.logFile, store: engine.store)
        let log = try JSONLinesLog(path: settings.logFile)
        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let sources = SignalSources.watch([SIGTERM, SIGINT, SIGHUP]) { continuation.yield($0) }
        defer { sources.cancel() }
        let operations = OperationsLoop(engine: engine) { message, fields in log.write(message, fields) }
        operations.apply(settings)
        engine.start()
        operations.start()
        log.write(
            "daemon started",
            ["connections": engine.snapshot().connections.count, "store": engine.snapshot().databasePath])
        let printer = Task {
            var cursor = EventCursor(after: engine.snapshot())
            var lastFileCheck = ContinuousClock.now
            var fileGone = false
            var outages: [String: ProviderOutage] = [:]
            var notice: String?
            var unreadable: Set<String> = []
            while true {
                // Read before the snapshot: once cancelled, one pass more logs the events that landed while the
                // daemon waited for the refreshes in flight.
                let last = Task.isCancelled
                let snapshot = engine.snapshot()
                outages = logBreakers(snapshot.outages, previously: outages, log: log)
                if snapshot.notice != notice {
                    // A database that cannot be reached or written is said once when it starts and once when it
                    // ends, not once per refresh it holds up.
                    if let text = snapshot.notice, text.hasPrefix("database problem") {
                        log.write("store_unavailable", ["store": snapshot.databasePath, "detail": text])
                    } else if notice?.hasPrefix("database problem") == true {
                        log.write("store_recovered", ["store": snapshot.databasePath])
                    }
                    notice = snapshot.notice
                }
                // Each row that cannot be read is said once, when it is found: the others go on being refreshed.
                for row in snapshot.unreadable where !unreadable.contains(row.id) {
                    log.write("connection_unreadable", ["connection.id": row.id, "detail": row.problem])
                }
                unreadable = Set(snapshot.unreadable.map(\.id))
                for event in cursor.unseen(in: snapshot) {
                    var fields: [String: Any] = ["connection.id": event.connectionID, "detail": event.message]
                    if let error = event.error {
                        fields["error"] = error.error
                        fields["http.status"] = error.status ?? NSNull()
                    }
                    // Several processes may share the database: each logs what it did, and says so when it only
                    // saw another process's work.
                    fields["by"] = event.byAnotherProcess ? "another process" : "this daemon"
                    log.write(event.kind.rawValue, fields)
                }
                if last { break }
                if !fileGone, lastFileCheck.duration(to: .now) >= .seconds(1) {
                    lastFileCheck = .now
                    if let problem = engine.store.fileProblem() {
                        fileGone = true
                        // Refreshing on would lose each rotated refresh token with the deleted file: stop, and fail.
                        log.write("store_gone", ["store": snapshot.databasePath, "detail": problem])
                        continuation.yield(Self.storeGone)
                    }
                }
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        var logFile = settings.logFile
        var status: Int32 = 0
        for await number in signals {
            if number == Self.storeGone {
                log.write("stopping", ["reason": "the database file was deleted or moved"])
                status = 1
                break
            }
            guard number == SIGHUP else {
                log.write("stopping", ["signal": number])
                break
            }
            do {
                // logrotate moved the file: what this reload finds, a broken configuration too, goes to a new one.
                // A file put in its place that is no log of ours is refused as at start-up, and the log stays where
                // it was.
                try JSONLinesLog.check(logFile, store: engine.store)
                try log.reopen(path: logFile)
            } catch {
                log.write("log file not reopened", ["path": logFile ?? "-", "reason": "\(error)"])
            }
            do {
                let fresh = try reload()
                try OperationsLoop.check(fresh.settings)
                try JSONLinesLog.check(fresh.settings.logFile, store: engine.store)
                let authorities = try CertificateAuthorityFile.load(fresh)
                if fresh.settings.logFile != logFile { try log.reopen(path: fresh.settings.logFile) }
                logFile = fresh.settings.logFile
                transport.trust(authorities)
                operations.apply(fresh.settings)
                await engine.apply(policy: fresh.policy(base: engine.policy))
                log.write(
                    "configuration reloaded",
                    Dictionary(
                        uniqueKeysWithValues: fresh.entries.map { entry in
                            // The command may carry a webhook's secret in its URL: say only whether one is set.
                            let value = entry.name == "on_event" && entry.value != "-" ? "set" : entry.value
                            return ("config.\(entry.name)", value)
                        }))
            } catch {
                // A broken file on reload keeps the configuration that works, as nginx and systemd units do.
                log.write("configuration not reloaded, keeping the one in force", ["reason": "\(error)"])
            }
        }
        // The refreshes in flight end first; their events are logged and handed to the event command before the
        // last line.
        await engine.stop()
        printer.cancel()
        await printer.value
        await operations.stop()
        log.write("daemon stopped", ["refreshes": engine.snapshot().refreshesHere])
        return status
    }

    /// Not a signal: what the event printer sends when the store's file is gone.
    private static let storeGone: Int32 = -1

    /// One line when a provider's breaker opens and one when it closes, instead of a line per held refresh.
    /// - Returns: the open breakers by provider, for the next look.
    private func logBreakers(
        _ outages: [ProviderOutage], previously: [String: ProviderOutage], log: JSONLinesLog
    ) -> [String: ProviderOutage] {
        let now = Date()
        let current = Dictionary(outages.map { ($0.provider, $0) }, uniquingKeysWith: { a, _ in a })
        for outage in outages where previously[outage.provider] == nil {
            log.write(
                "breaker_opened",
                [
                    "provider": outage.provider, "detail": outage.banner(at: now),
                    "error": outage.lastError?.error ?? NSNull(), "http.status": outage.lastError?.status ?? NSNull(),
                ])
        }
        for (provider, outage) in previously where current[provider] == nil {
            log.write(
                "breaker_closed",
                [
                    "provider": provider, "open_seconds": Int(now.timeIntervalSince(outage.since).rounded()),
                    "detail": "provider \(provider) answers again; held refreshes resume spread out",
                ])
        }
        return current
    }
}
