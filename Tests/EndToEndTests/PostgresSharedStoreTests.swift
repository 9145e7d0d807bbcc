import Foundation
import Testing
import TokentopCore
import TokentopTestSupport

/// Several `tokentop` processes on one PostgreSQL store, against django-oauth-toolkit: work sharing under load, a
/// daemon killed mid-run, and a dashboard that sees another process's writes (issue 7).
///
/// Each test makes a database of its own. The tests run one at a time: they measure rates and latencies, and on a
/// 2-core machine three daemons of one test would distort the other's figures. Token values never reach an
/// `#expect` or a printed line: only Booleans and counts derived from them do.
@Suite(
    .serialized,
    .enabled(
        if: PostgresServer.isAvailable,
        "needs a PostgreSQL server (scripts/postgres); under CI=true a server that cannot start fails the tests"))
struct PostgresSharedStoreTests {
    static let loadProcesses = 3
    static let loadTokens = 10_000
    /// Connections refreshed again at the end of the load test, to show the stored refresh tokens are the live ones.
    static let verificationSample = 200

    @Test func threeDaemonsRefreshTenThousandDueTokensOnceEachAndLoseNone() async throws {
        let began = Date()
        var clock = Date()
        func lap() -> Double {
            defer { clock = Date() }
            return Date().timeIntervalSince(clock)
        }
        let server = try await OAuthServerFixture.shared()
        try await Self.expectRotationAndReuseProtection(server)
        let url = try PostgresServer.freshDatabase(label: "pg load")
        defer { try? PostgresServer.dropDatabase(url) }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = lap()

        let pairs = try server.seed(client: server.basicClient, count: Self.loadTokens)
        let seeding = lap()
        let ids = pairs.indices.map { "pg-load-\($0)" }
        let file = try Self.importFile(
            server: server, sandbox: sandbox, ids: ids, pairs: pairs, expiresIn: 0)
        let environment = Self.environment(sandbox, store: url)
        let migrated = try Binary.run(["migrate", "--store", url], environment: environment)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let imported = try Binary.run(["--store", url, "import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let importing = lap()

        // The daemons find the store through TOKENTOP_STORE.
        let daemons = try (0..<Self.loadProcesses).map { _ in try Binary.startLoggingDaemon(environment: environment) }
        defer { for (daemon, _) in daemons where daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let store = try Store.open(path: url, secrets: SecretBox(key: InteropTests.key), create: false)
        let progress = try await Self.waitForRefreshes(of: Self.loadTokens, in: store, seconds: 480)
        let refreshing = lap()
        for (daemon, _) in daemons { kill(daemon.processIdentifier, SIGTERM) }
        var perProcess: [Int] = []
        for (daemon, log) in daemons {
            #expect(await daemon.exited() == 0)
            perProcess.append(try await log.waitFor("daemon stopped", seconds: 5)?["refreshes"] as? Int ?? -1)
        }
        #expect(progress.refreshed == Self.loadTokens, "refreshed \(progress.refreshed) of \(Self.loadTokens)")

        // Zero double refreshes: one `refreshed` entry per connection, and the processes' own counts add up.
        let history = try store.history(since: 0).entries
        let refused = history.filter { $0.error?.error == "invalid_grant" || $0.kind == .needsReauth }.count
        #expect(refused == 0, "invalid_grant or needs-reauth entries")
        let failed = history.filter { $0.kind == .refreshFailed }
        #expect(failed.isEmpty, "\(failed.count) failed refreshes, first: \(failed.first?.message ?? "")")
        let perConnection = Dictionary(grouping: history.filter { $0.kind == .refreshed }, by: \.connectionID)
        #expect(perConnection.count == Self.loadTokens, "connections refreshed")
        let twice = perConnection.filter { $0.value.count != 1 }
        #expect(twice.isEmpty, "\(twice.count) connections refreshed more than once, e.g. \(twice.keys.first ?? "")")
        #expect(perProcess.reduce(0, +) == Self.loadTokens, "refreshes per process: \(perProcess)")
        #expect(perProcess.allSatisfy { $0 > 0 }, "every process took part: \(perProcess)")

        let stored = try store.connections()
        #expect(stored.count == Self.loadTokens)
        #expect(stored.filter { $0.lastRefreshAt == nil }.isEmpty, "every token refreshed")
        #expect(stored.filter { $0.failures > 0 || $0.reauthReason != nil }.isEmpty)
        // The rotated refresh token is stored: none is still the value seeded.
        var rotated = 0
        for (id, pair) in zip(ids, pairs) {
            let current = try store.tokenSecrets(connectionID: id).refresh?.value
            if let current, current != pair.refresh { rotated += 1 }
        }
        #expect(rotated == Self.loadTokens, "the rotated refresh token is stored")

        let status = try Binary.run(["--store", url, "status"], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        let healthy = "OK: \(Self.loadTokens) connections: \(Self.loadTokens) healthy"
        #expect(status.stdout.hasPrefix(healthy), "\(status.stdout)")
        let checking = lap()

        // No token lost: the stored refresh token of a sample is the live one at the provider, which with reuse
        // protection would otherwise refuse it (and revoke its family).
        let sample = Array(ids.shuffled().prefix(Self.verificationSample))
        let renewed = try await Self.refreshAgain(sample, store: store)
        let verifying = lap()
        #expect(renewed == sample.count, "\(sample.count - renewed) of \(sample.count) sampled tokens lost")
        let total = Date().timeIntervalSince(began)
        print(
            "postgres store: \(Self.loadProcesses) daemons x \(Self.loadTokens) due tokens: seeded in "
                + String(format: "%.1f s, imported in %.1f s, ", seeding, importing)
                + String(format: "all refreshed in %.1f s (%.0f/s); ", refreshing, Double(Self.loadTokens) / refreshing)
                + "refreshes per process \(perProcess.map(String.init).joined(separator: ", ")); "
                + "double refreshes \(twice.count); invalid_grant \(refused); checks in "
                + String(format: "%.1f s; ", checking)
                + "\(renewed)/\(sample.count) sampled refreshed again in "
                + String(format: "%.1f s; test %.0f s", verifying, total))
    }

    // MARK: - Helpers shared by the suite's tests

    /// The sandbox's environment with the test key and `TOKENTOP_STORE` naming the PostgreSQL store.
    static func environment(_ sandbox: Sandbox, store url: String) -> [String: String] {
        var environment = sandbox.environment.merging(InteropTests().binaryEnvironment) { $1 }
        environment["TOKENTOP_STORE"] = url
        return environment
    }

    /// An import file with one connection per pair under the server's basic client, expiring in `expiresIn`
    /// seconds (0: already due).
    static func importFile(
        server: OAuthServerFixture, sandbox: Sandbox, ids: [String],
        pairs: [(access: String, refresh: String)], expiresIn: Int
    ) throws -> String {
        let client = server.basicClient
        let integration: [String: Any] = [
            "id": client.id, "provider": "django-oauth-toolkit", "token_url": server.tokenURL.absoluteString,
            "revocation_url": server.revokeURL.absoluteString, "client_id": client.id,
            "client_secret": client.secret, "client_auth": "client_secret_basic",
        ]
        let entries: [[String: Any]] = zip(ids, pairs).map { id, pair in
            [
                "id": id, "integration": client.id, "scope": "user", "subject": "alice@example.com",
                "access_token": pair.access, "refresh_token": pair.refresh, "expires_in": expiresIn,
                "granted_scopes": ["read"],
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: ["integrations": [integration], "connections": entries])
        return try sandbox.write("pg-import.json", String(decoding: data, as: UTF8.self))
    }

    /// What the history said so far about the refreshes a test waits for.
    struct Progress {
        /// Connections with at least one `refreshed` entry.
        var refreshed = 0
        /// `refresh_failed` and `needs_reauth` entries.
        var failures = 0
    }

    /// Reads the history as it grows until `count` connections were refreshed, a failure was recorded (the test
    /// then fails at once instead of waiting), `until` says stop, or `seconds` pass.
    static func waitForRefreshes(
        of count: Int, in store: Store, seconds: Double, until stop: (Progress) -> Bool = { _ in false }
    ) async throws -> Progress {
        let deadline = Date().addingTimeInterval(seconds)
        var cursor = 0
        var refreshed = Set<String>()
        var progress = Progress()
        while Date() < deadline {
            let page = try store.history(since: cursor)
            cursor = page.latest
            for entry in page.entries {
                switch entry.kind {
                case .refreshed: refreshed.insert(entry.connectionID)
                case .refreshFailed, .needsReauth: progress.failures += 1
                default: break
                }
            }
            progress.refreshed = refreshed.count
            if refreshed.count >= count || progress.failures > 0 || stop(progress) { break }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        return progress
    }

    /// Refreshes each of `ids` once more in this process, 8 at a time; how many succeeded.
    static func refreshAgain(_ ids: [String], store: Store) async throws -> Int {
        let engine = try Engine(store: store, transport: URLSessionTransport(timeout: 30))
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            var pending = ids[...]
            var renewed = 0
            func ok(_ connection: Connection) -> Bool { connection.failures == 0 && connection.reauthReason == nil }
            for _ in 0..<8 {
                guard let id = pending.popFirst() else { break }
                group.addTask { ok(try await engine.refreshNow(id)) }
            }
            while let succeeded = try await group.next() {
                if succeeded { renewed += 1 }
                if let id = pending.popFirst() { group.addTask { ok(try await engine.refreshNow(id)) } }
            }
            return renewed
        }
    }

    /// The provider does what the test relies on: rotation hands out a new refresh token, and presenting the old
    /// one again is refused (reuse protection, no grace period) and ends the new one too.
    static func expectRotationAndReuseProtection(_ server: OAuthServerFixture) async throws {
        #expect(server.graceSeconds == 0, "the shared server has no rotation grace period")
        let pair = try #require(try server.seed(client: server.basicClient, count: 1).first)
        let first = try await server.refreshGrant(refreshToken: pair.refresh, client: server.basicClient)
        let rotated = try #require(first.tokens?.refreshToken, "refresh failed: HTTP \(first.status)")
        #expect(rotated != pair.refresh, "ROTATE_REFRESH_TOKEN is on")
        let reused = try await server.refreshGrant(refreshToken: pair.refresh, client: server.basicClient)
        #expect(reused.error == "invalid_grant", "a rotated refresh token presented again is refused")
        let family = try await server.refreshGrant(refreshToken: rotated, client: server.basicClient)
        #expect(family.error == "invalid_grant", "REFRESH_TOKEN_REUSE_PROTECTION revoked the token's family")
    }

    /// The pid in a lease owner's name (`host:pid:random`).
    static func pid(ofOwner owner: String) -> Int32? {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        return Int32(parts[parts.count - 2])
    }

    /// How many connections each lease owner holds a lease on now.
    static func leaseHolders(_ url: String) throws -> [String: Int] {
        let text = try PostgresServer.psql(
            url, "SELECT lease_owner, count(*) FROM connections WHERE lease_owner IS NOT NULL GROUP BY lease_owner")
        var holders: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            guard let bar = line.lastIndex(of: "|"), let count = Int(line[line.index(after: bar)...]) else { continue }
            holders[String(line[..<bar])] = count
        }
        return holders
    }
}
