import Foundation
import TokentopCore

/// The shared-store figures: `tokentop daemon` processes, as operators run them, refreshing one PostgreSQL store
/// (and, for comparison, one daemon on an SQLite file) against the benchmark's token endpoint.
///
/// Each run seeds a fresh store with the fleet, re-imports the connections it measures so that they fall due a
/// few seconds later (after the daemons have started), starts the daemons, and reads the refresh times the
/// daemons wrote (`last_refresh_at`) back from the store. `throughput` makes every measured connection due at one
/// instant and times the last refresh from then; `lateness` spreads the due times over a window and compares each
/// refresh with its connection's due time.
struct PostgresPhase {
    enum Kind: String {
        case throughput, lateness
    }

    let options: BenchOptions
    let tokenURL: URL
    let work: String
    /// The benchmark's environment, with the key the fleet is sealed with.
    let environment: [String: String]

    func run() throws -> [(String, String)] {
        let settings = options.postgres
        let tokentop = try Bench.tokentopExecutable()
        var figures: [(String, String)] = [
            ("pg_connections", "\(settings.connections)"), ("pg_lateness_due", "\(settings.due)"),
        ]
        if settings.sqlite {
            for kind in [Kind.throughput, .lateness] {
                let path = "\(work)/daemon-\(kind.rawValue).sqlite3"
                defer { Self.removeSQLite(path) }
                figures += try measure(kind, store: path, daemons: 1, prefix: "sqlite_daemon", tokentop: tokentop)
            }
        }
        let server = try BenchPostgres.locate()
        say("PostgreSQL at \(Store.displayName(server.adminURL))")
        for kind in [Kind.throughput, .lateness] {
            for count in settings.daemons {
                let url = try server.createDatabase(label: "\(kind.rawValue)_\(count)")
                defer { try? server.dropDatabase(url) }
                figures += try measure(kind, store: url, daemons: count, prefix: "pg", tokentop: tokentop)
            }
        }
        return figures
    }

    /// One run: seed `store`, make the measured connections due, run `daemons` daemons until each was refreshed.
    private func measure(
        _ kind: Kind, store location: String, daemons count: Int, prefix: String, tokentop: String
    ) throws -> [(String, String)] {
        let settings = options.postgres
        let policy = RefreshPolicy.standard
        let wanted = kind == .throughput ? settings.connections : settings.due
        let label = "\(prefix) \(kind.rawValue) with \(count) daemon\(count == 1 ? "" : "s")"
        var fleet = Fleet(count: max(settings.connections, wanted) * 3 / 2, tokenURL: tokenURL)
        let store = try Store.open(path: location, secrets: try SecretBox.load(environment: environment))
        let seedTime = try Measure.time { try fleet.seed(into: store, at: Date()) }
        guard fleet.renewable.count >= wanted else {
            throw BenchError("the fleet has only \(fleet.renewable.count) renewable connections, not \(wanted)")
        }
        let positions: [Int]
        switch kind {
        case .throughput: positions = Array(fleet.renewable.prefix(wanted))
        case .lateness:
            let stride = max(1, fleet.renewable.count / wanted)
            positions = (0..<wanted).map { fleet.renewable[($0 * stride) % fleet.renewable.count] }
        }
        let now = Date()
        // Re-importing the measured connections costs about as much as seeding did (more under load, on a shared
        // machine): leave that time and more before the first due time, so the daemons start before it.
        let first = now.addingTimeInterval(max(settings.startDelay, 1.5 * seedTime / 1_000 + 5))
        try fleet.makeDue(positions, in: store, at: now, policy: policy) { k in
            kind == .throughput ? first : first.addingTimeInterval(settings.dueWindow * Double(k) / Double(wanted))
        }
        let imported = Date()
        // The due times as the daemons compute them, from the stored rows (the same policy, lead and jitter).
        let ids = Set(positions.map { fleet.entries[$0].id })
        var dueAt: [String: Date] = [:]
        for connection in try store.connections() where ids.contains(connection.id) {
            dueAt[connection.id] = policy.dueAt(connection)
        }
        guard dueAt.count == wanted, let earliest = dueAt.values.min(), let latest = dueAt.values.max() else {
            throw BenchError("\(label): \(dueAt.count) of \(wanted) connections have a due time")
        }
        say(
            "\(label): seeded \(fleet.count) in \(Measure.format(seedTime / 1_000, digits: 1)) s, \(wanted) due "
                + "from \(Measure.format(earliest.timeIntervalSinceNow, digits: 1)) s on")
        // A daemon that starts after the first due time would add its start-up to the figures.
        guard imported < earliest else { throw BenchError("\(label): seeding took longer than --pg-start-delay") }
        let changesBefore = try store.latestChange()
        let spawned = Date()
        let group = try DaemonGroup(
            executable: tokentop, count: count, store: location,
            directory: "\(work)/daemons-\(prefix)-\(kind.rawValue)-\(count)", environment: daemonEnvironment,
            lead: policy.minimumLead, concurrency: policy.concurrency)
        defer { group.kill() }
        let started = try group.waitUntilStarted(deadline: earliest)

        let deadline = latest.addingTimeInterval(kind == .throughput ? 600 : 120)
        var refreshed: [String: Date] = [:]
        var lastRead = Date.distantPast
        while refreshed.count < wanted {
            guard Date() < deadline else {
                throw BenchError("\(label): only \(refreshed.count) of \(wanted) were refreshed in time")
            }
            usleep(100_000)
            // The change number is one cheap query; the rows are read once it says enough was written, and then at
            // most once a second, so polling takes little from the daemons. The figures come from the rows' own
            // times, not from when this loop noticed.
            guard try store.latestChange() - changesBefore >= wanted, Date().timeIntervalSince(lastRead) >= 1
            else { continue }
            lastRead = Date()
            refreshed = [:]
            for connection in try store.connections() where dueAt[connection.id] != nil {
                if let at = connection.lastRefreshAt, at > imported { refreshed[connection.id] = at }
            }
        }
        let cpu = group.cpuSeconds()
        let split = try group.stop()
        let failures = try store.connections().filter { dueAt[$0.id] != nil && $0.failures > 0 }.count
        let times = Array(refreshed.values)
        let firstRefresh = times.min() ?? earliest
        let lastRefresh = times.max() ?? earliest

        var figures: [(String, String)] = []
        func add(_ name: String, _ value: String) { figures.append(("\(prefix)_\(name)_\(count)", value)) }
        switch kind {
        case .throughput:
            let rate = Double(wanted) / max(0.001, lastRefresh.timeIntervalSince(earliest))
            add("refresh_per_s", Measure.format(rate, digits: 1))
            add("first_refresh_ms", Measure.format(firstRefresh.timeIntervalSince(earliest) * 1_000, digits: 1))
            add("refresh_split", split.map { $0.map(String.init) ?? "?" }.joined(separator: "/"))
            add("start_ms", Measure.format(started.timeIntervalSince(spawned) * 1_000, digits: 0))
            // Until the poll noticed the last refresh and stopped them, so a little idle time is included.
            add("daemon_cpu_s", cpu.map { Measure.format($0, digits: 1) }.joined(separator: "/"))
            add("refresh_failures", "\(failures)")
        case .lateness:
            var lateness: [Double] = []
            var early = 0
            for (id, at) in refreshed {
                let late = at.timeIntervalSince(dueAt[id] ?? at) * 1_000
                if late < 0 { early += 1 }
                lateness.append(late)
            }
            add("lateness_ms_p50", Measure.format(Measure.percentile(50, of: lateness), digits: 1))
            add("lateness_ms_p99", Measure.format(Measure.percentile(99, of: lateness), digits: 1))
            add("lateness_ms_max", Measure.format(lateness.max() ?? 0, digits: 1))
            add("refreshed_early", "\(early)")
            add("lateness_split", split.map { $0.map(String.init) ?? "?" }.joined(separator: "/"))
            add("lateness_failures", "\(failures)")
        }
        // The machine may be shared with other work: the load beside each run's figures says how much.
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first
        say("\(label) (load \(load ?? "?")): " + figures.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        return figures
    }

    /// The environment of the daemons: the benchmark's key, and no configuration file or store of the user's.
    private var daemonEnvironment: [String: String] { Bench.commandEnvironment(environment, work: work) }

    private static func removeSQLite(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data("tokentop-bench: \(text)\n".utf8))
    }
}
