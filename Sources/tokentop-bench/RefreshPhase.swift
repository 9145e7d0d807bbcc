import Foundation
import Synchronization
import TokentopCore
import TokentopTUI

/// The refresh actor's figures, in a process of its own that runs the engine as `tokentop` does, with the
/// dashboard drawing once a second beside it.
///
/// `throughput` times refreshes that are all due at once, end to end (HTTP, parse, seal, persist); `lateness`
/// measures how late each of the connections due within the next minute was sent, and whether any went early.
struct RefreshPhase {
    enum Kind: String {
        case throughput, lateness
    }

    let options: BenchOptions
    let kind: Kind

    func run() async throws -> [(String, String)] {
        let store = try Store.open(path: options.database, secrets: try SecretBox.load(), create: false)
        let transport = RecordingTransport(try options.makeTransport(), recording: kind == .lateness)
        let engine = try Engine(store: store, transport: transport, databasePath: options.database)
        let policy = engine.policy
        let now = Date()
        // What the actor should do: every connection due before the window ends, with its due time.
        let horizon = now.addingTimeInterval(kind == .throughput ? 1 : options.dueWindow + 60)
        var dueAt: [String: Date] = [:]
        for connection in engine.snapshot().connections {
            if let due = policy.dueAt(connection), due <= horizon { dueAt[connection.id] = due }
        }
        guard !dueAt.isEmpty else { throw BenchError("no connection of \(options.database) is due") }
        if kind == .lateness, let first = dueAt.values.min(), first < now {
            throw BenchError("the engine started \(Measure.format(now.timeIntervalSince(first))) s after the first due")
        }
        let changesBefore = try store.latestChange()
        let started = Measure.monotonicNanoseconds()
        engine.start()
        let stop = StopFlag()
        let (columns, rows) = (options.columns, options.rows)
        let drawer = Thread {
            let dashboard = HeadlessDashboard(backend: engine, columns: columns, rows: rows)
            while !stop.isSet { dashboard.idle(seconds: 1) }
        }
        drawer.start()

        let limit = (kind == .throughput ? 600 : options.dueWindow + 180) * 1_000
        var stored = 0
        // The first results' landing ends the engine's start (loading the schedule of all N connections, once per
        // process); the rate is counted from there, over the refreshes stored after it.
        var firstLanding: (milliseconds: Double, stored: Int)?
        while Measure.milliseconds(since: started) < limit {
            stored = try store.latestChange() - changesBefore
            let now = Measure.milliseconds(since: started)
            if stored > 0, firstLanding == nil { firstLanding = (now, stored) }
            if stored >= dueAt.count { break }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        let elapsed = Measure.milliseconds(since: started) / 1_000
        stop.set()
        await engine.stop()
        var figures: [(String, String)] = []
        guard stored >= dueAt.count else {
            throw BenchError("only \(stored) of \(dueAt.count) due refreshes were stored within \(limit / 1_000) s")
        }
        let failed = engine.snapshot().connections.filter { dueAt[$0.id] != nil && $0.failures > 0 }.count
        switch kind {
        case .throughput:
            let first = firstLanding ?? (0, 0)
            let rate = Double(dueAt.count - first.stored) / max(elapsed - first.milliseconds / 1_000, 0.001)
            figures.append(("refresh_per_s", Measure.format(rate, digits: 1)))
            figures.append(("refresh_count", "\(dueAt.count)"))
            figures.append(("refresh_start_ms", Measure.format(first.milliseconds, digits: 1)))
            figures.append(("refresh_per_s_with_start", Measure.format(Double(dueAt.count) / elapsed, digits: 1)))
        case .lateness:
            let sent = transport.sendTimes
            var lateness: [Double] = []
            var early = 0
            var missing = 0
            for (id, due) in dueAt {
                guard let at = sent[id] else {
                    missing += 1
                    continue
                }
                let late = at.timeIntervalSince(due) * 1_000
                if late < 0 { early += 1 }
                lateness.append(late)
            }
            figures.append(("lateness_ms_p99", Measure.format(Measure.percentile(99, of: lateness), digits: 1)))
            figures.append(("lateness_ms_p50", Measure.format(Measure.percentile(50, of: lateness), digits: 1)))
            figures.append(("lateness_ms_max", Measure.format(lateness.max() ?? 0, digits: 1)))
            figures.append(("lateness_due", "\(dueAt.count)"))
            figures.append(("refreshed_early", "\(early)"))
            if missing > 0 { throw BenchError("\(missing) due connections were never sent") }
        }
        figures.append(("refresh_failures", "\(failed)"))
        figures.append(("peak_rss_mb", Measure.format(Measure.peakResidentMB(), digits: 1)))
        return figures
    }
}

/// Tells the drawing thread to stop.
private final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { flag.load(ordering: .relaxed) }

    func set() { flag.store(true, ordering: .relaxed) }
}
