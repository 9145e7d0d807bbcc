import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// The engines the store's tests run on: SQLite always; PostgreSQL when a server can be started, which CI requires.
enum StoreEngine: String, CustomTestStringConvertible {
    case sqlite
    case postgres

    static var available: [StoreEngine] { PostgresServer.isAvailable ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }
}

/// A directory under the system's temporary directory, and the stores of one test on its engine; removed (the
/// directory, and each PostgreSQL database) when the value goes away.
final class StoreTemporaryDirectory {
    let path: String
    let engine: StoreEngine
    private var databases: [String: String] = [:]

    init(_ engine: StoreEngine = .sqlite) throws {
        self.engine = engine
        path = FileManager.default.temporaryDirectory.path + "/tokentop-store-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
        for url in databases.values { try? PostgresServer.dropDatabase(url) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// The store called `name` on this test's engine: a file in the directory, or a database of its own.
    func location(_ name: String) throws -> String {
        switch engine {
        case .sqlite: return file(name + ".sqlite3")
        case .postgres:
            if let url = databases[name] { return url }
            let url = try PostgresServer.freshDatabase(label: name)
            databases[name] = url
            return url
        }
    }
}

/// Fake credentials and helpers shared by the store's tests.
enum StoreFixtures {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)
    static let key = [UInt8](repeating: 7, count: 32)

    static func integration(_ id: String = "acme") -> ImportBundle.IntegrationEntry {
        ImportBundle.IntegrationEntry(
            integration: Integration(
                id: id, provider: "acme", tokenURL: URL(string: "https://auth.acme.test/oauth/token")!,
                revocationURL: URL(string: "https://auth.acme.test/oauth/revoke"), clientID: "fake-client-id",
                clientAuth: .clientSecretPost, scopes: ["read", "write"], redirectURI: "http://127.0.0.1:8765/cb"),
            clientSecret: Secret("fake-client-secret-0001"))
    }

    static func connection(
        _ id: String = "acme-alice", integration: String = "acme", scope: IdentityScope = .user,
        access: String = "fake-access-token-0001", refresh: String? = "fake-refresh-token-0001"
    ) -> ImportBundle.ConnectionEntry {
        ImportBundle.ConnectionEntry(
            id: id, integrationID: integration, scope: scope, subject: "\(id)@example.com", credential: .oauth2,
            grant: refresh == nil ? .none : .refreshToken, accessToken: Secret(access),
            refreshToken: refresh.map(Secret.init), expiresIn: 3600, grantedScopes: ["read"])
    }

    /// A store in `directory` holding one integration and the given connections.
    static func store(
        in directory: StoreTemporaryDirectory, connections: [ImportBundle.ConnectionEntry] = [connection()]
    ) throws -> Store {
        let store = try Store.open(path: try directory.location("tokentop"), secrets: SecretBox(key: key))
        _ = try store.importBundle(
            ImportBundle(source: "fixture.json", integrations: [integration()], connections: connections), at: epoch)
        return store
    }

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o777 : nil
    }
}

@Suite struct StoreTests {
    // MARK: - Opening and migrations

    @Test func migratesAnEmptyDatabaseToTheLatestSchema() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("nested/dir/tokentop.sqlite3")
        let store = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try store.database.schemaVersion() == Schema.latest)
        let tables = try store.database.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ) { $0.string(0) ?? "" }
        #expect(
            tables == ["audit", "connections", "deleted_connections", "history", "integrations", "meta", "processes"])
        let indexes = try store.database.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
        ) {
            $0.string(0) ?? ""
        }
        // Nobody claims an SQLite file's due work through an index: migration 11 drops it.
        #expect(
            indexes == [
                "connections_by_change", "connections_by_integration", "connections_by_lease", "connections_by_parent",
                "deleted_connections_dead", "history_by_connection", "history_by_time",
            ])
        #expect(try store.database.query("PRAGMA journal_mode") { $0.string(0) } == ["wal"])
        #expect(try store.database.query("PRAGMA foreign_keys") { $0.int(0) } == [1])
        #expect(StoreFixtures.mode(directory.file("nested/dir")) == 0o700)
        #expect(StoreFixtures.mode(directory.file("nested")) == 0o700)
    }

    @Test(arguments: StoreEngine.available)
    func reopensAnExistingDatabaseWithItsData(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        do {
            let store = try StoreFixtures.store(in: directory)
            #expect(try store.connections().count == 1)
        }
        let reopened = try Store.open(
            path: try directory.location("tokentop"), secrets: SecretBox(key: StoreFixtures.key))
        #expect(try reopened.connections().map(\.id) == ["acme-alice"])
        #expect(try reopened.tokenSecrets(connectionID: "acme-alice").access == Secret("fake-access-token-0001"))
        #expect(try reopened.database.schemaVersion() == Schema.latest)
    }

    @Test func refusesADatabaseFromANewerTokentopWithoutWritingToIt() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("newer.sqlite3")
        do {
            let raw = try SQLiteDatabase(path: path)
            try raw.execute("CREATE TABLE future (x)")
            try raw.execute("PRAGMA user_version = 99")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        }
        #expect(error.code == .newerSchema)
        #expect(error.path == path)
        #expect(error.message.contains("schema version 99; this tokentop knows up to \(Schema.latest)"))
        #expect(error.message.contains("upgrade tokentop"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func createsTheDatabaseAndItsWriteAheadFilesWithMode0600() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try StoreFixtures.store(in: directory)
        #expect(StoreFixtures.mode(store.path) == 0o600)
        #expect(StoreFixtures.mode(store.path + "-wal") == 0o600)
        #expect(StoreFixtures.mode(store.path + "-shm") == 0o600)
    }

    @Test(arguments: StoreEngine.available)
    func refusesTheWrongKeyAtOpenAndKeepsTheSecrets(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let path = try StoreFixtures.store(in: directory).path
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: path, secrets: SecretBox(key: [UInt8](repeating: 9, count: 32)))
        }
        #expect(error.code == .cannotDecrypt)
        #expect(error.message.contains("cannot decrypt the secrets of \(path): wrong TOKENTOP_KEY or key file?"))
        let reopened = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try reopened.tokenSecrets(connectionID: "acme-alice").refresh == Secret("fake-refresh-token-0001"))
    }

    // MARK: - Round trips

    @Test(arguments: StoreEngine.available)
    func roundTripsEveryConnectionField(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let written = Connection(
            id: "acme-alice", integrationID: "acme", scope: .delegated, subject: "alice@example.com",
            credential: .oauth2, grant: .tokenExchange,
            grantedScopes: ["read", "admin:org", "quote\"back\\slash\u{1}\ttab ü 😀"],
            accessFingerprint: "fake…00000001", refreshFingerprint: "fake…00000002",
            issuedAt: Date(timeIntervalSince1970: 1_700_000_001.25),
            expiresAt: Date(timeIntervalSince1970: 1_700_003_601.5),
            lastRefreshAt: Date(timeIntervalSince1970: 1_700_000_002), failures: 3,
            lastError: ProviderError(
                kind: .transient, error: "temporarily_unavailable", errorDescription: "try later", status: 503,
                bodyPrefix: "<html>", retryAfter: 30),
            retryAt: Date(timeIntervalSince1970: 1_700_000_100), reauthReason: "consent withdrawn",
            revokedAt: Date(timeIntervalSince1970: 1_700_000_200), revokedAtProvider: true,
            createdAt: Date(timeIntervalSince1970: 1_600_000_000))
        try store.locked { try store.updateFacts(written) }
        #expect(try store.connection(id: "acme-alice") == written)
        #expect(
            try Store.open(path: store.path, secrets: SecretBox(key: StoreFixtures.key))
                .connection(id: "acme-alice") == written)
    }

    @Test(arguments: StoreEngine.available)
    func roundTripsIntegrationsAndTheirSecret(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        var expected = StoreFixtures.integration().integration
        expected.secretFingerprint = Secret("fake-client-secret-0001").fingerprint
        #expect(try store.integrations() == [expected])
        #expect(try store.integrationSecret(id: "acme") == Secret("fake-client-secret-0001"))
        let error = try #require(throws: StoreError.self) { try store.integrationSecret(id: "nope") }
        #expect(error.code == .unknownIntegration)
    }

    @Test(arguments: StoreEngine.available)
    func ordersConnectionsByScopeThenID(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory,
            connections: [
                StoreFixtures.connection("b-bot", scope: .bot),
                StoreFixtures.connection("z-user", scope: .user),
                StoreFixtures.connection("a-workspace", scope: .workspace),
                StoreFixtures.connection("a-user", scope: .user),
                StoreFixtures.connection("m-org", scope: .org),
                StoreFixtures.connection("c-delegated", scope: .delegated),
            ])
        #expect(
            try store.connections().map(\.id)
                == ["a-user", "z-user", "m-org", "c-delegated", "a-workspace", "b-bot"])
    }

    @Test(arguments: StoreEngine.available)
    func importedConnectionsStartFromTheImportTime(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let connection = try #require(try store.connection(id: "acme-alice"))
        #expect(connection.createdAt == StoreFixtures.epoch)
        #expect(connection.issuedAt == StoreFixtures.epoch)
        #expect(connection.expiresAt == StoreFixtures.epoch.addingTimeInterval(3600))
        #expect(connection.accessFingerprint == Secret("fake-access-token-0001").fingerprint)
        #expect(connection.refreshFingerprint == Secret("fake-refresh-token-0001").fingerprint)
        #expect(connection.grantedScopes == ["read"])
        #expect(try store.connection(id: "nope") == nil)
    }

    // MARK: - Refresh outcomes

    @Test(arguments: StoreEngine.available)
    func refreshSuccessRotatesTheRefreshTokenWhenTheProviderSendsOne(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        _ = try store.recordRefreshFailure(
            connectionID: "acme-alice", error: ProviderError(kind: .transient, error: "network_error"),
            retryAt: StoreFixtures.epoch.addingTimeInterval(5), reauthReason: nil, at: StoreFixtures.epoch)
        let at = StoreFixtures.epoch.addingTimeInterval(60)
        let grant = TokenGrant(
            accessToken: Secret("fake-access-token-0002"), refreshToken: Secret("fake-refresh-token-0002"),
            expiresIn: 1800, scopes: ["read", "write"])
        let connection = try store.recordRefreshSuccess(connectionID: "acme-alice", grant: grant, at: at, message: "ok")
        #expect(connection.accessFingerprint == Secret("fake-access-token-0002").fingerprint)
        #expect(connection.refreshFingerprint == Secret("fake-refresh-token-0002").fingerprint)
        #expect(connection.issuedAt == at)
        #expect(connection.expiresAt == at.addingTimeInterval(1800))
        #expect(connection.lastRefreshAt == at)
        #expect(connection.grantedScopes == ["read", "write"])
        #expect(connection.failures == 0)
        #expect(connection.lastError == nil)
        #expect(connection.retryAt == nil)
        #expect(try store.connection(id: "acme-alice") == connection)
        let secrets = try store.tokenSecrets(connectionID: "acme-alice")
        #expect(secrets.access == Secret("fake-access-token-0002"))
        #expect(secrets.refresh == Secret("fake-refresh-token-0002"))
        let last = try #require(try store.history(connectionID: "acme-alice", limit: 1).last)
        #expect(last == HistoryEntry(at: at, connectionID: "acme-alice", kind: .refreshed, message: "ok"))
    }

    @Test(arguments: StoreEngine.available)
    func refreshSuccessKeepsTheOldRefreshTokenWhenNoneIsSent(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        try store.locked {
            var connection = try #require(try store.loadConnection("acme-alice"))
            connection.reauthReason = "was stuck"
            try store.updateFacts(connection)
        }
        let at = StoreFixtures.epoch.addingTimeInterval(60)
        let grant = TokenGrant(accessToken: Secret("fake-access-token-0002"))
        let connection = try store.recordRefreshSuccess(connectionID: "acme-alice", grant: grant, at: at, message: "ok")
        #expect(connection.refreshFingerprint == Secret("fake-refresh-token-0001").fingerprint)
        #expect(connection.expiresAt == nil)
        #expect(connection.grantedScopes == ["read"])
        #expect(connection.reauthReason == nil)
        let secrets = try store.tokenSecrets(connectionID: "acme-alice")
        #expect(secrets.access == Secret("fake-access-token-0002"))
        #expect(secrets.refresh == Secret("fake-refresh-token-0001"))
    }

    @Test(arguments: StoreEngine.available)
    func refreshFailureCountsAndKeepsTheTokens(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let transient = ProviderError(kind: .transient, error: "server_error", status: 503)
        let retryAt = StoreFixtures.epoch.addingTimeInterval(10)
        let first = try store.recordRefreshFailure(
            connectionID: "acme-alice", error: transient, retryAt: retryAt, reauthReason: nil,
            at: StoreFixtures.epoch.addingTimeInterval(1))
        #expect(first.failures == 1)
        #expect(first.lastError == transient)
        #expect(first.retryAt == retryAt)
        #expect(first.reauthReason == nil)

        let refused = ProviderError(
            kind: .invalidGrant, error: "invalid_grant", errorDescription: "revoked", status: 400)
        let second = try store.recordRefreshFailure(
            connectionID: "acme-alice", error: refused, retryAt: nil, reauthReason: "the user revoked access",
            at: StoreFixtures.epoch.addingTimeInterval(2))
        #expect(second.failures == 2)
        #expect(second.lastError == refused)
        #expect(second.retryAt == nil)
        #expect(second.reauthReason == "the user revoked access")
        #expect(try store.connection(id: "acme-alice") == second)

        let secrets = try store.tokenSecrets(connectionID: "acme-alice")
        #expect(secrets.access == Secret("fake-access-token-0001"))
        #expect(secrets.refresh == Secret("fake-refresh-token-0001"))
        let history = try store.history(connectionID: "acme-alice", limit: 10)
        #expect(history.map(\.kind) == [.imported, .refreshFailed, .needsReauth])
        #expect(history[1].message == "refresh failed: server_error (HTTP 503)")
        #expect(history[1].error == transient)
        #expect(history[2].message == "needs re-auth: the user revoked access")
        #expect(history[2].error == refused)
    }

    @Test(arguments: StoreEngine.available)
    func revokingWipesBothStoredTokens(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let at = StoreFixtures.epoch.addingTimeInterval(30)
        let connection = try store.recordRevoked(connectionID: "acme-alice", atProvider: true, at: at, message: "bye")
        #expect(connection.revokedAt == at)
        #expect(connection.revokedAtProvider)
        #expect(try store.connection(id: "acme-alice") == connection)
        let secrets = try store.tokenSecrets(connectionID: "acme-alice")
        #expect(secrets.access == nil)
        #expect(secrets.refresh == nil)
        let columns = try store.database.query(
            "SELECT access_token IS NULL, refresh_token IS NULL FROM connections WHERE id = 'acme-alice'"
        ) {
            [$0.bool(0), $0.bool(1)]
        }
        #expect(columns == [[true, true]])
        #expect(try store.history(connectionID: "acme-alice", limit: 1).map(\.kind) == [.revoked])
    }

    @Test(arguments: StoreEngine.available)
    func aRefreshThatLandsAfterARevocationIsDiscarded(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        _ = try store.recordRevoked(
            connectionID: "acme-alice", atProvider: false, at: StoreFixtures.epoch, message: "x")
        let error = try #require(throws: StoreError.self) {
            try store.recordRefreshSuccess(
                connectionID: "acme-alice", grant: TokenGrant(accessToken: Secret("fake-access-token-0009")),
                at: StoreFixtures.epoch, message: "late")
        }
        #expect(error.code == .revoked)
        #expect(try store.tokenSecrets(connectionID: "acme-alice").access == nil)
    }

    @Test(arguments: StoreEngine.available, ["success", "failure", "revoke", "secrets"])
    func anUnknownConnectionIsNamedInTheError(engine: StoreEngine, _ operation: String) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let error = try #require(throws: StoreError.self) {
            switch operation {
            case "success":
                try store.recordRefreshSuccess(
                    connectionID: "ghost", grant: TokenGrant(accessToken: Secret("fake-access-token-0003")),
                    at: StoreFixtures.epoch, message: "ok")
            case "failure":
                try store.recordRefreshFailure(
                    connectionID: "ghost", error: ProviderError(kind: .transient, error: "network_error"),
                    retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
            case "revoke":
                try store.recordRevoked(connectionID: "ghost", atProvider: false, at: StoreFixtures.epoch, message: "x")
            default:
                _ = try store.tokenSecrets(connectionID: "ghost")
            }
        }
        #expect(error.code == .unknownConnection)
        #expect(error.message.hasPrefix("no connection named ghost in \(store.path)"))
        #expect(try store.history(connectionID: "ghost", limit: 10).isEmpty)
    }

    // MARK: - History

    @Test(arguments: StoreEngine.available)
    func historyReturnsTheNewestEntriesOldestFirst(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory,
            connections: [
                StoreFixtures.connection("acme-alice"), StoreFixtures.connection("acme-bob"),
            ])
        for second in 1...5 {
            try store.appendHistory(
                HistoryEntry(
                    at: StoreFixtures.epoch.addingTimeInterval(Double(second)),
                    connectionID: second.isMultiple(of: 2) ? "acme-bob" : "acme-alice", kind: .reauthRequested,
                    message: "event \(second)"))
        }
        #expect(try store.history(connectionID: "acme-alice", limit: 2).map(\.message) == ["event 3", "event 5"])
        #expect(
            try store.history(connectionID: "acme-bob", limit: 10).map(\.message)
                == ["imported from fixture.json", "event 2", "event 4"])
        #expect(try store.recentHistory(limit: 3).map(\.message) == ["event 3", "event 4", "event 5"])
        #expect(try store.pruneHistory(before: StoreFixtures.epoch.addingTimeInterval(3)) == 4)
        #expect(try store.recentHistory(limit: 10).map(\.message) == ["event 3", "event 4", "event 5"])
    }

    // MARK: - Sharing

    @Test(arguments: StoreEngine.available)
    func concurrentCallersAreSerialised(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for step in 0..<25 {
                try? store.appendHistory(
                    HistoryEntry(
                        at: StoreFixtures.epoch, connectionID: "acme-alice", kind: .reauthRequested,
                        message: "worker \(worker) step \(step)"))
                _ = try? store.connections()
                _ = try? store.tokenSecrets(connectionID: "acme-alice")
            }
        }
        #expect(try store.history(connectionID: "acme-alice", limit: 1000).count == 1 + 8 * 25)
    }

    @Test(arguments: StoreEngine.available)
    func twoStoresOnOneFileSeeEachOthersWrites(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let first = try StoreFixtures.store(in: directory)
        let second = try Store.open(path: first.path, secrets: SecretBox(key: StoreFixtures.key))
        let failed = try second.recordRefreshFailure(
            connectionID: "acme-alice", error: ProviderError(kind: .transient, error: "network_error"),
            retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
        #expect(try first.connection(id: "acme-alice") == failed)
        _ = try first.recordRevoked(
            connectionID: "acme-alice", atProvider: false, at: StoreFixtures.epoch, message: "x")
        #expect(try second.tokenSecrets(connectionID: "acme-alice").access == nil)
    }

    // MARK: - Secrets at rest

    @Test func storedTokensNeverAppearInTheDatabaseFiles() throws {
        let directory = try StoreTemporaryDirectory()
        let access = "fake-access-token-PLAINTEXT-PROBE-1111"
        let refresh = "fake-refresh-token-PLAINTEXT-PROBE-2222"
        let rotated = "fake-refresh-token-PLAINTEXT-PROBE-3333"
        let store = try StoreFixtures.store(
            in: directory,
            connections: [
                StoreFixtures.connection(access: access, refresh: refresh)
            ])
        _ = try store.recordRefreshSuccess(
            connectionID: "acme-alice",
            grant: TokenGrant(
                accessToken: Secret("fake-access-token-PLAINTEXT-PROBE-4444"),
                refreshToken: Secret(rotated)),
            at: StoreFixtures.epoch, message: "ok")
        let files = [store.path, store.path + "-wal"]
        #expect(FileManager.default.fileExists(atPath: store.path + "-wal"))
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for probe in [
                access, refresh, rotated, "fake-access-token-PLAINTEXT-PROBE-4444",
                "fake-client-secret-0001", "PLAINTEXT-PROBE",
            ] {
                #expect(bytes.range(of: Data(probe.utf8)) == nil, "\(file) holds \(probe) in plain text")
            }
        }
        // The probe really went through the store.
        #expect(try store.tokenSecrets(connectionID: "acme-alice").refresh == Secret(rotated))
    }
}

/// The store lists connections by scope, then by id as SQLite's BINARY collation orders it (UTF-8 bytes).
@Suite struct StoreOrderTests {
    @Test(arguments: StoreEngine.available)
    func connectionsComeByScopeThenByIdBytes(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let ids: [(String, IdentityScope)] = [
            ("b", .user), ("a", .bot), ("B", .user), ("a-1", .user), ("a1", .user), ("ä", .user), ("a", .user),
            ("zz", .org), ("Zz", .org), ("", .delegated), ("x", .workspace), ("aa", .user), ("a\u{0}", .delegated),
        ]
        let store = try StoreFixtures.store(
            in: directory, connections: ids.map { StoreFixtures.connection($0.0 + "-" + $0.1.rawValue, scope: $0.1) })
        let listed = try store.connections().map(\.id)
        let expected = try store.database.query(
            "SELECT id FROM connections ORDER BY CASE scope WHEN 'user' THEN 0 WHEN 'org' THEN 1 "
                + "WHEN 'delegated' THEN 2 WHEN 'workspace' THEN 3 ELSE 4 END, id"
        ) { $0.string(0) ?? "" }
        #expect(listed == expected)
        #expect(listed.first == "B-user")
    }
}
