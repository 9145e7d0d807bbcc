import Foundation
import TokentopCore
import TokentopTUI

/// The dashboard's figures, in a process of its own: a cold start to the first frame, the cost of a key to its
/// finished frame, and the CPU of an idle minute.
///
/// Everything runs as `tokentop` runs it: the store opened from the file, the engine and its refresh actor started,
/// the real dashboard drawing frames; only the terminal is the in-memory screen.
struct FramePhase {
    let options: BenchOptions
    /// The parent's monotonic clock just before it started this process, so the cold start includes the exec.
    let startedAt: UInt64

    func run() async throws -> [(String, String)] {
        let inProcess = Measure.monotonicNanoseconds()
        var steps: [Double] = []
        var mark = inProcess
        func step() {
            steps.append(Measure.milliseconds(since: mark))
            mark = Measure.monotonicNanoseconds()
        }
        let store = try Store.open(path: options.database, secrets: try SecretBox.load(), create: false)
        step()
        let transport = try options.makeTransport()
        step()
        let engine = try Engine(store: store, transport: transport, databasePath: options.database)
        step()
        engine.start()
        let dashboard = HeadlessDashboard(backend: engine, columns: options.columns, rows: options.rows)
        step()
        dashboard.drawFrame()
        step()
        let firstFrame = Measure.milliseconds(since: startedAt)
        let firstFrameInProcess = Measure.milliseconds(since: inProcess)
        let total = engine.snapshot().connections.count
        guard dashboard.text.count > 1, dashboard.text[1].contains(" \(total) connections") else {
            throw BenchError("the first frame does not show \(total) connections: \(dashboard.text.prefix(3))")
        }
        var figures: [(String, String)] = [
            ("first_frame_ms", Measure.format(firstFrame)),
            ("first_frame_in_process_ms", Measure.format(firstFrameInProcess)),
            // Where the cold start goes: opening the store, the HTTP transport, loading the engine, building the
            // dashboard's rows, and drawing.
            ("first_frame_steps_ms", steps.map { Measure.format($0, digits: 1) }.joined(separator: "/")),
        ]
        let samples = options.keySamples
        let cursor = time(dashboard, samples) { _ in .down }
        dashboard.press(.first)
        let page = time(dashboard, samples) { _ in .pageDown }
        dashboard.press(.first)
        let filter = filterTimes(dashboard, samples: samples)
        let scopes: [HeadlessDashboard.Press] = IdentityScope.allCases.map { .scope($0) } + [.allScopes]
        let scope = time(dashboard, samples) { scopes[$0 % scopes.count] }
        for (name, times) in [("cursor", cursor), ("page", page), ("filter", filter), ("scope", scope)] {
            figures.append(("frame_ms_p50_\(name)", Measure.format(Measure.percentile(50, of: times), digits: 3)))
            figures.append(("frame_ms_p99_\(name)", Measure.format(Measure.percentile(99, of: times), digits: 3)))
        }

        let cpuBefore = Measure.cpuSeconds()
        let wallBefore = Measure.monotonicNanoseconds()
        dashboard.idle(seconds: options.idleSeconds)
        let wall = Measure.milliseconds(since: wallBefore) / 1_000
        let idleCPU = (Measure.cpuSeconds() - cpuBefore) / wall * 100
        figures.append(("idle_cpu_percent", Measure.format(idleCPU, digits: 3)))
        figures.append(("idle_seconds", Measure.format(wall, digits: 1)))
        figures += try await importSeen(engine, total: total)
        await engine.stop()
        figures.append(("peak_rss_mb", Measure.format(Measure.peakResidentMB(), digits: 1)))
        return figures
    }

    /// How many connections another process imports while the dashboard runs, for ``importSeen(_:total:)``.
    static let imported = 1_000

    /// Another store handle on the file (as another process's `tokentop import`) adds ``imported`` new connections;
    /// `import_seen_ms` is the time from its commit until the running engine's snapshot holds them all, which the
    /// change feed's poll bounds, and `import_sync_cpu_ms` the CPU this process spent meanwhile: taking them in must
    /// cost about one pass over the fleet, not one per new connection (which cost 178 s at 100,000).
    private func importSeen(_ engine: Engine, total: Int) async throws -> [(String, String)] {
        let snapshot = engine.snapshot()
        guard let integration = snapshot.integrations.keys.sorted().first else { return [] }
        let now = Date()
        let entries = (0..<Self.imported).map { index in
            let id = String(format: "bench-import-%05d", index)
            return ImportBundle.ConnectionEntry(
                id: id, integrationID: integration, scope: .user, subject: "\(id)@import.example.com",
                grant: .refreshToken, accessToken: Secret("fake-access-token-\(id)"),
                refreshToken: Secret("fake-refresh-token-\(id)"), expiresAt: now.addingTimeInterval(7_200))
        }
        let other = try Store.open(path: options.database, secrets: try SecretBox.load(), create: false)
        _ = try other.importBundle(ImportBundle(source: "tokentop-bench import", connections: entries), at: now)
        let committed = Measure.monotonicNanoseconds()
        let cpuBefore = Measure.cpuSeconds()
        while engine.snapshot().connections.count < total + Self.imported {
            guard Measure.milliseconds(since: committed) < 600_000 else {
                throw BenchError("the engine did not show \(Self.imported) imported connections within 10 minutes")
            }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
        let seen = Measure.milliseconds(since: committed)
        let cpu = (Measure.cpuSeconds() - cpuBefore) * 1_000
        return [
            ("import_seen_ms", Measure.format(seen, digits: 1)), ("import_sync_cpu_ms", Measure.format(cpu, digits: 1)),
        ]
    }

    /// Presses `press(k)` for k in 0..<samples, at most `limit` seconds in all; the time of each key to its frame.
    private func time(
        _ dashboard: HeadlessDashboard, _ samples: Int, limit: Double = 30,
        _ press: (Int) -> HeadlessDashboard.Press
    ) -> [Double] {
        var times: [Double] = []
        let start = Measure.monotonicNanoseconds()
        for k in 0..<samples {
            times.append(Measure.time { dashboard.press(press(k)) })
            if Measure.milliseconds(since: start) > limit * 1_000 { break }
        }
        return times
    }

    /// Types queries into the filter one character at a time; the time of each character to its frame.
    private func filterTimes(_ dashboard: HeadlessDashboard, samples: Int, limit: Double = 60) -> [Double] {
        // Queries an operator types: a tenant, a provider, a user, a domain, a workspace, and one that matches
        // nothing; each narrows from everything to a few rows.
        let queries = ["t042", "okta", "user123", "example.com", "ws:t1", "salesforce-app3", "zzz"]
        var times: [Double] = []
        let start = Measure.monotonicNanoseconds()
        var round = 0
        while times.count < samples, Measure.milliseconds(since: start) < limit * 1_000 {
            dashboard.press(.startFilter)
            for character in queries[round % queries.count] {
                times.append(Measure.time { dashboard.press(.character(character)) })
            }
            dashboard.press(.escape)
            round += 1
        }
        return times
    }
}
