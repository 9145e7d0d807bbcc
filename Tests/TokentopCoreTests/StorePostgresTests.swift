import Foundation
import Synchronization
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// What only the PostgreSQL engine has: its own migrations bookkeeping, a server that can refuse, vanish or drop
/// the connection. The store's behaviour itself is covered by the suites that run on both engines.
@Suite(.enabled(if: PostgresServer.isAvailable, "no PostgreSQL server (scripts/postgres start)"))
struct StorePostgresTests {
    let key = SecretBox(key: StoreFixtures.key)

    @Test func migratesAnEmptyDatabaseAndKeepsItsVersionInATable() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("fresh")
        let store = try Store.open(path: url, secrets: key)
        #expect(store.isShared)
        #expect(try store.database.schemaVersion() == Schema.latest)
        let tables = try PostgresServer.psql(
            url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")
        #expect(
            tables.split(separator: "\n")
                == [
                    "audit", "connections", "deleted_connections", "history", "integrations", "meta", "processes",
                    "tokentop_schema",
                ])
        #expect(try PostgresServer.psql(url, "SELECT version FROM tokentop_schema") == "\(Schema.latest)")
        // Refreshers sharing the store claim due work through this index; only SQLite drops it.
        #expect(
            try PostgresServer.psql(url, "SELECT indexname FROM pg_indexes WHERE indexname = 'connections_by_due'")
                == "connections_by_due")
        let types = try PostgresServer.psql(
            url,
            """
            SELECT column_name || ':' || data_type FROM information_schema.columns
            WHERE table_name = 'connections' AND column_name IN ('access_token', 'expires_at', 'failures')
            ORDER BY 1
            """)
        #expect(
            types.split(separator: "\n") == ["access_token:bytea", "expires_at:double precision", "failures:bigint"])
        let again = try Store.migrate(path: url)
        #expect(again.from == Schema.latest && again.to == Schema.latest)
        #expect(again.description.hasSuffix("schema already at version \(Schema.latest); nothing to do"))
    }

    /// Another session's lock fails a statement within the lock timeout, as a `busy` error that says so and may
    /// pass, instead of holding tokentop (and its stop) for as long as the lock lasts.
    @Test func aStatementGivesUpOnAnotherSessionsLockWithinTheTimeout() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("locked")
        let store = try Store.open(path: url, secrets: key, create: true, busyTimeoutMilliseconds: 1_000)
        // Another session holds the table until the heartbeat has given up: without a limit, the statement waits
        // as long as that lasts. The session is this process's own, so the lock is held once LOCK returns; a psql
        // started to hold it was once not seen holding it within 30 s under CI's load.
        let holder = try PostgresDatabase(url: url)
        try holder.execute("BEGIN", [])
        try holder.execute("LOCK TABLE processes IN ACCESS EXCLUSIVE MODE", [])
        let started = ContinuousClock.now
        let error = #expect(throws: StoreError.self, "the heartbeat waited out the lock") {
            try store.heartbeat(owner: "elsewhere.example:4242:lock0001", at: Date(), briefly: false)
        }
        let waited = started.duration(to: .now)
        try holder.execute("COMMIT", [])
        #expect(error?.code == .busy && error?.mayPass == true)
        #expect(
            error?.message
                == "\(store.path) stayed locked by another process for more than 1 second (canceling statement due "
                + "to lock timeout); retry; nothing was changed")
        #expect(waited >= .milliseconds(900) && waited < .seconds(4), "waited \(waited)")
    }

    @Test func twoProcessesMigratingAtOnceTakeTurns() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("race")
        let outcomes = Mutex<[Result<MigrationOutcome, StoreError>]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let outcome = Result { try Store.migrate(path: url) }
                .mapError { $0 as? StoreError ?? StoreError(.postgres, "\($0)") }
            outcomes.withLock { $0.append(outcome) }
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 4)
        for result in results {
            let outcome = try result.get()
            #expect(outcome.to == Schema.latest)
        }
        #expect(try PostgresServer.psql(url, "SELECT count(*) FROM tokentop_schema") == "1")
        #expect(try PostgresServer.psql(url, "SELECT version FROM tokentop_schema") == "\(Schema.latest)")
    }

    @Test func aDatabaseFromANewerTokentopIsRefusedAndLeftAlone() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("newer")
        try PostgresServer.psql(
            url, "CREATE TABLE tokentop_schema (version BIGINT NOT NULL); INSERT INTO tokentop_schema VALUES (99)")
        let error = try #require(throws: StoreError.self) { try Store.open(path: url, secrets: key) }
        #expect(error.code == .newerSchema)
        #expect(error.message.contains("schema version 99"))
        #expect(try tableCount(url) == 1)
    }

    @Test func anotherProgramsDatabaseIsRefusedAndLeftAlone() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("foreign")
        try PostgresServer.psql(url, "CREATE TABLE orders (id int)")
        let error = try #require(throws: StoreError.self) { try Store.open(path: url, secrets: key) }
        #expect(error.code == .notADatabase)
        #expect(error.message.contains("another program's PostgreSQL database (it holds orders)"))
        #expect(
            try PostgresServer.psql(url, "SELECT string_agg(table_name, ',') FROM information_schema.tables "
                + "WHERE table_schema = 'public'") == "orders")
    }

    @Test func aReadingCommandNeverCreatesTheTables() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("empty")
        let error = try #require(throws: StoreError.self) { try Store.open(path: url, secrets: key, create: false) }
        #expect(error.code == .cannotOpen)
        #expect(error.message.contains("holds no tokentop store yet; `tokentop migrate"))
        #expect(try tableCount(url) == 0)
    }

    @Test func aRefusedLoginNamesTheStoreButNeverThePassword() throws {
        let admin = try PostgresServer.adminURL()
        let port = try #require(URLComponents(string: admin)?.port)
        let url = "postgres://ghost:fake-password-0001@127.0.0.1:\(port)/postgres?application_name=x"
        let error = try #require(throws: StoreError.self) { try Store.open(path: url, secrets: key) }
        #expect(error.code == .cannotOpen)
        let shown = "postgres://ghost@127.0.0.1:\(port)/postgres?application_name=x"
        #expect(error.message.contains("refused the login to \(shown)"), "\(error.message)")
        #expect(!error.message.contains("fake-password-0001"))
        #expect(Store.displayName(url) == shown)
    }

    @Test func aURLLibpqCannotReadIsNamedWithoutItsPassword() throws {
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: "postgres://tokentop:fake-password-0002@[::1", secrets: key)
        }
        #expect(error.code == .cannotOpen)
        #expect(error.message.contains("is not a PostgreSQL URL libpq can read"))
        #expect(!error.message.contains("fake-password-0002"))
        let parameter = try #require(throws: StoreError.self) {
            try Store.open(path: "postgres://tokentop@127.0.0.1:9/x?sslmode=bogus", secrets: key)
        }
        #expect(
            parameter.message.hasPrefix("cannot connect to postgres://tokentop@127.0.0.1:9/x?sslmode=bogus (invalid"),
            "\(parameter.message)")
    }

    @Test func anUnreachableServerIsOneClearError() throws {
        // A port nothing listens on: the kernel refuses at once.
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: "postgres://tokentop@127.0.0.1:9/tokentop", secrets: key)
        }
        #expect(error.code == .unreachable)
        #expect(
            error.message.hasPrefix("cannot reach the PostgreSQL server of postgres://tokentop@127.0.0.1:9/tokentop"))
    }

    @Test func aDroppedConnectionIsReopenedBeforeTheNextStatement() throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let store = try StoreFixtures.store(in: directory)
        let url = try directory.location("tokentop")
        let name = try #require(URLComponents(string: url)?.path.dropFirst())
        let killed = try PostgresServer.psql(
            try PostgresServer.adminURL(),
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(name)'")
        #expect(killed == "1")
        // The next read reconnects (and prepares its statements again) instead of failing.
        #expect(try store.connections().map(\.id) == ["acme-alice"])
        let failed = try store.recordRefreshFailure(
            connectionID: "acme-alice", error: ProviderError(kind: .transient, error: "network_error"),
            retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
        #expect(failed.failures == 1)
    }

    @Test func aChangeCommittedElsewhereMovesTheNoticeCount() async throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let follower = try StoreFixtures.store(in: directory)
        let writer = try Store.open(path: follower.path, secrets: key)
        follower.followChanges()
        // The listener says hello once connected: wait for that, then for the writer's notice.
        let connected = try await eventually { follower.changeNotices > 0 }
        #expect(connected)
        let before = follower.changeNotices
        _ = try writer.recordRefreshFailure(
            connectionID: "acme-alice", error: ProviderError(kind: .transient, error: "network_error"),
            retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
        let noticed = try await eventually { follower.changeNotices > before }
        #expect(noticed)
        #expect(follower.changePollInterval == 5)
    }

    private func tableCount(_ url: String) throws -> Int? {
        Int(try PostgresServer.psql(url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
    }

    /// Polls `condition` every 20 ms for up to 3 s.
    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<150 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
