import CSQLite
import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// `tokentop export` and importing the export: a whole store moves, secrets sealed, nothing lost or half-written.
@Suite struct StoreExportTests {
    static let fakeSecrets = [
        "fake-client-secret-0001", "fake-access-token-0001", "fake-refresh-token-0001", "fake-access-token-0002",
    ]
    /// Not a whole second, so that a date that lost digits on the way would show.
    static let later = StoreFixtures.epoch.addingTimeInterval(12.345678901)

    /// A source store with a refresh failure, a refresh whose answer gave no expiry (an assumed one), history and
    /// audit entries.
    static func source(_ directory: StoreTemporaryDirectory, at location: String? = nil) throws -> Store {
        let store = try Store.open(
            path: location ?? directory.file("source.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        _ = try store.importBundle(
            ImportBundle(
                source: "fixture.json", integrations: [StoreFixtures.integration()],
                connections: [
                    StoreFixtures.connection(),
                    StoreFixtures.connection("acme-bot", scope: .bot, access: "fake-access-token-0002", refresh: nil),
                ]),
            at: StoreFixtures.epoch)
        try store.recordRefreshFailure(
            connectionID: "acme-alice",
            error: ProviderError(kind: .transient, error: "temporarily_unavailable", status: 503),
            retryAt: later.addingTimeInterval(30), reauthReason: nil, at: later)
        var assumed = TokenGrant(accessToken: Secret("fake-access-token-0002"), expiresIn: 3600)
        assumed.expiryAssumed = true
        try store.recordRefreshSuccess(
            connectionID: "acme-bot", grant: assumed, at: later, message: "refreshed; no expiry in the answer")
        try store.appendAudit(
            action: .import, target: "fixture.json", outcome: "ok", detail: "2 connections", user: "tester",
            at: StoreFixtures.epoch)
        try store.appendAudit(
            action: .refresh, target: "acme-alice", outcome: "failed", detail: "503", user: "tester", at: later)
        return store
    }

    /// What a store holds, as tokentop reads it, for comparing two stores.
    struct Contents: Equatable {
        var integrations: [Integration]
        var connections: [Connection]
        var history: [HistoryEntry]
        var audit: [AuditEntry]
        var tokens: [String]

        init(_ store: Store) throws {
            integrations = try store.integrations()
            connections = try store.connections()
            history = try store.recentHistory(limit: 1_000)
            audit = try store.auditLog()
            tokens =
                try connections.flatMap { connection in
                    let (access, refresh) = try store.tokenSecrets(connectionID: connection.id)
                    return [access?.value ?? "-", refresh?.value ?? "-"]
                } + [try store.integrationSecret(id: "acme")?.value ?? "-"]
        }
    }

    static func openTarget(_ location: String, key: [UInt8] = StoreFixtures.key) -> (Bool) throws -> Store {
        { create in try Store.open(path: location, secrets: SecretBox(key: key), create: create) }
    }

    static func bytes(_ path: String) throws -> String {
        let files = [path, path + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }
        return try files.map { String(decoding: try Data(contentsOf: URL(fileURLWithPath: $0)), as: UTF8.self) }
            .joined()
    }

    /// A provider's scope text with a zero-width space, a bidi override and an escape is kept readable, and the
    /// export of the store it was written to imports again.
    @Test func aProvidersOddScopeTextStillRoundTrips() throws {
        let directory = try StoreTemporaryDirectory()
        let source = try Self.source(directory)
        let grant = TokenGrant(
            accessToken: Secret("fake-access-token-0003"), expiresIn: 3600,
            scopes: ["a\u{200B}b", "", "read\u{202E}", "\u{1B}[31mred", "plain"])
        #expect(grant.scopes == ["a\u{FFFD}b", "read\u{FFFD}", "\u{FFFD}[31mred", "plain"])
        try source.recordRefreshSuccess(connectionID: "acme-alice", grant: grant, at: Self.later, message: "ok")
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: source, to: file, user: "tester", at: Self.later)
        let target = directory.file("target.sqlite3")
        _ = try ImportFile.run(path: file, openStore: Self.openTarget(target), user: "tester", at: Self.later)
        let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key), create: false)
        #expect(try restored.connections().first { $0.id == "acme-alice" }?.grantedScopes == grant.scopes)
    }

    @Test func sqliteToSqliteKeepsEveryRowAndNoSecretShows() throws {
        let directory = try StoreTemporaryDirectory()
        let source = try Self.source(directory)
        let before = try Contents(source)
        #expect(before.connections.map(\.expiryAssumed) == [false, true], "acme-alice, acme-bot")
        let file = directory.file("store.json")
        let exported = try StoreExport.run(store: source, to: file, user: "tester", at: Self.later)
        #expect(exported == ExportSummary(integrations: 1, connections: 2, history: 4, audit: 2))
        #expect(StoreFixtures.mode(file) == 0o600)
        let document = try String(contentsOfFile: file, encoding: .utf8)
        #expect(document.contains("\"format\":\"tokentop-export\""))
        #expect(document.contains("\"access_token\":{\"base64\":"))
        #expect(!document.contains("lease_owner"))

        let target = directory.file("target.sqlite3")
        let summary = try ImportFile.run(path: file, openStore: Self.openTarget(target), user: "tester", at: Self.later)
        #expect(summary.wholeStore == exported)
        let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key), create: false)
        var after = try Contents(restored)
        // The target's log goes on with the import itself; the source's own entries are the same, hashes and all.
        #expect(after.audit.count == before.audit.count + 1)
        #expect(after.audit.last?.action == .import && after.audit.last?.outcome == "ok")
        after.audit.removeLast()
        #expect(after == before)
        #expect(try restored.verifyAudit().isIntact)
        #expect(try restored.latestChange() == (try source.latestChange()))
        // The source recorded the export.
        #expect(try source.auditLog().last?.action == .export)

        // New history continues after the imported numbers.
        try restored.appendHistory(
            HistoryEntry(at: Self.later, connectionID: "acme-bot", kind: .revoked, message: "after the move"))
        #expect(try restored.history(connectionID: "acme-bot", limit: 10).last?.message == "after the move")

        for secret in Self.fakeSecrets {
            #expect(!document.contains(secret), "the export shows \(secret)")
            #expect(!(try Self.bytes(target)).contains(secret), "the target database shows \(secret)")
        }
    }

    /// A sealed value altered in the database (a disk error, a hand edit) made an export that no restore could
    /// read: the export opens every sealed value first, names the rows, and writes nothing.
    @Test func aStoreWithAnAlteredSecretIsNotExported() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.source(directory)
        var handle: OpaquePointer?
        #expect(sqlite3_open(store.path, &handle) == SQLITE_OK)
        let sql = "UPDATE connections SET access_token = randomblob(length(access_token)) WHERE id = 'acme-alice'"
        #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(handle)
        let file = directory.file("store.json")
        let error = try #require(throws: StoreError.self) {
            try StoreExport.run(store: store, to: file, user: "tester", at: Self.later)
        }
        #expect(
            error.message
                == "cannot export \(store.path): 1 sealed value does not open under this key (connections acme-alice "
                + "access_token): altered in the database, and an export holding them could never be restored; import "
                + "those credentials again (or revoke them) first; nothing was written")
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(try store.auditLog().last?.outcome == "failed")
    }

    @Test func anotherKeyIsRefusedAndNoTargetIsLeft() throws {
        let directory = try StoreTemporaryDirectory()
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: file, user: "tester", at: Self.later)
        let target = directory.file("target.sqlite3")
        let other = [UInt8](repeating: 9, count: 32)
        #expect {
            try ImportFile.run(
                path: file, openStore: Self.openTarget(target, key: other), user: "tester", at: Self.later)
        } throws: { error in
            "\(error)".contains("the export was sealed with another key; use the same TOKENTOP_KEY or key file")
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    /// An export whose format was mistyped is named by its format, not read as an import file whose every member
    /// is an unknown key.
    @Test func aMistypedFormatIsNamed() throws {
        let directory = try StoreTemporaryDirectory()
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: file, user: "tester", at: Self.later)
        let text = try Self.bytes(file).replacingOccurrences(of: "\"tokentop-export\"", with: "\"tokentop-export \"")
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let target = directory.file("target.sqlite3")
        #expect {
            try ImportFile.run(path: file, openStore: Self.openTarget(target), user: "tester", at: Self.later)
        } throws: { error in
            "\(error)" == "\(file): format: \"tokentop-export \" is not the format of a tokentop export "
                + "(\"tokentop-export\"), and an import file has no format member; nothing was imported"
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func aTargetThatHoldsConnectionsIsRefusedUnchanged() throws {
        let directory = try StoreTemporaryDirectory()
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: file, user: "tester", at: Self.later)
        let target = try StoreFixtures.store(in: directory)
        let before = try Contents(target)
        #expect {
            try ImportFile.run(
                path: file, openStore: Self.openTarget(target.path), user: "tester", at: Self.later)
        } throws: { error in
            "\(error)".contains("already holds 1 connections") && "\(error)".contains("nothing was written")
        }
        var after = try Contents(target)
        // Like every refused import, the attempt is audited; nothing else changed.
        #expect(after.audit.last?.outcome == "failed")
        after.audit.removeLast()
        #expect(after == before)
    }

    @Test(arguments: [
        ("truncated", "not valid JSON"),
        // A row is parsed, and its syntax checked, only once the tables before it are checked.
        ("broken-row", "not valid JSON: line 13, column 7: expected ':' after the key \"id\""),
        ("newer-schema", "schema: the export comes from a store of schema version 99"),
        ("newer-version", "version: export format version 2 is newer"),
        ("moved-token", "tables.connections (id \"acme-bob\"): access_token does not open in its place"),
        ("edited-audit", "tables.audit: the audit chain does not verify"),
        ("edited-fingerprint", "access_fingerprint does not match the sealed access_token (it is "),
        ("unknown-column", "tables.connections[0]: colour: no such column"),
        ("bad-blob", "tables.integrations[0]: client_secret: expected {\"base64\""),
    ])
    func aDamagedExportNamesTheFileAndWritesNothing(damage: String, message: String) throws {
        let directory = try StoreTemporaryDirectory()
        let good = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: good, user: "tester", at: Self.later)
        var text = try String(contentsOfFile: good, encoding: .utf8)
        switch damage {
        case "truncated": text = String(text.prefix(text.count / 2))
        case "broken-row":
            text = text.replacingOccurrences(of: "{\"id\":\"acme-alice\"", with: "{\"id\" \"acme-alice\"")
        case "newer-schema": text = text.replacingOccurrences(of: "\"schema\":\(Schema.latest)", with: "\"schema\":99")
        case "newer-version": text = text.replacingOccurrences(of: "\"version\":1", with: "\"version\":2")
        case "moved-token":
            // The history moves along, so that only the sealed token is out of place.
            text = text.replacingOccurrences(of: "\"id\":\"acme-alice\"", with: "\"id\":\"acme-bob\"")
                .replacingOccurrences(of: "\"connection_id\":\"acme-alice\"", with: "\"connection_id\":\"acme-bob\"")
        case "edited-audit": text = text.replacingOccurrences(of: "\"detail\":\"503\"", with: "\"detail\":\"504\"")
        case "edited-fingerprint":
            // `show` would name a token that is not the one stored.
            let stated = try #require(text.range(of: #""access_fingerprint":"[^"]+""#, options: .regularExpression))
            text.replaceSubrange(stated, with: #""access_fingerprint":"evil…00000000""#)
        case "unknown-column":
            text = text.replacingOccurrences(of: "{\"id\":\"acme-alice\"", with: "{\"colour\":1,\"id\":\"acme-alice\"")
        default:
            let blob = "\"client_secret\":{\"base64\":\""
            text = text.replacingOccurrences(of: blob, with: blob + "!")
        }
        let file = directory.file("damaged.json")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let target = directory.file("target.sqlite3")
        #expect {
            try ImportFile.run(path: file, openStore: Self.openTarget(target), user: "tester", at: Self.later)
        } throws: { error in
            "\(error)".hasPrefix(file + ": ") && "\(error)".contains(message)
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    /// An export of a store of schema 13, from before the rows of deleted connections were exported, restores
    /// without them; one of a later schema must hold that table, as every other.
    @Test func anExportFromBeforeDeletedConnectionsRestoresWithoutThem() throws {
        let directory = try StoreTemporaryDirectory()
        let good = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: good, user: "tester", at: Self.later)
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: good))) as? [String: Any])
        var tables = try #require(document["tables"] as? [String: Any])
        #expect(tables["deleted_connections"] is [Any])
        tables["deleted_connections"] = nil
        document["tables"] = tables
        let missing = directory.file("missing.json")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: missing))
        #expect {
            try ImportFile.run(
                path: missing, openStore: Self.openTarget(directory.file("a.sqlite3")), user: "tester", at: Self.later)
        } throws: { error in
            "\(error)" == "\(missing): tables: deleted_connections: missing or not an array; an export holds every "
                + "table, even an empty one"
        }
        document["schema"] = 13
        let older = directory.file("older.json")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: older))
        let summary = try ImportFile.run(
            path: older, openStore: Self.openTarget(directory.file("b.sqlite3")), user: "tester", at: Self.later)
        #expect(summary.description.contains("2 connections"), "\(summary)")
    }

    @Test func auditEntriesTheTargetHeldFollowTheImportedOnes() throws {
        let directory = try StoreTemporaryDirectory()
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: try Self.source(directory), to: file, user: "tester", at: Self.later)
        let target = try Store.open(path: directory.file("target.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        try target.appendAudit(
            action: .import, target: "typo.json", outcome: "failed", detail: "not valid JSON", user: "tester",
            at: Self.later)
        _ = try ImportFile.run(
            path: file, openStore: { _ in target }, user: "tester", at: Self.later.addingTimeInterval(1))
        let log = try target.auditLog()
        #expect(log.map(\.target) == ["fixture.json", "acme-alice", "typo.json", file])
        #expect(try target.verifyAudit().isIntact)
    }

    /// SQLite to PostgreSQL and back, on a server the fixture starts (CI requires one).
    @Test(.enabled(if: PostgresServer.isAvailable, "no PostgreSQL server (scripts/postgres start)"))
    func sqliteToPostgresAndBack() throws {
        let directory = try StoreTemporaryDirectory()
        let source = try Self.source(directory)
        let before = try Contents(source)
        #expect(before.connections.map(\.expiryAssumed) == [false, true], "acme-alice, acme-bot")
        let server = try StoreTemporaryDirectory(.postgres)
        let database = (url: try server.location("export"), dump: {
            try ["integrations", "connections", "history", "audit", "meta"].map {
                try PostgresServer.psql(try server.location("export"), "SELECT * FROM \($0)")
            }.joined()
        })

        let first = directory.file("first.json")
        _ = try StoreExport.run(store: source, to: first, user: "tester", at: Self.later)
        _ = try ImportFile.run(
            path: first, openStore: Self.openTarget(database.url), user: "tester", at: Self.later)
        let shared = try Store.open(path: database.url, secrets: SecretBox(key: StoreFixtures.key), create: false)
        var onServer = try Contents(shared)
        #expect(try shared.verifyAudit().isIntact)
        onServer.audit.removeLast()
        #expect(onServer == before)
        for secret in Self.fakeSecrets {
            #expect(!(try database.dump()).contains(secret), "the PostgreSQL database shows \(secret)")
        }
        // The identity moved past the imported history numbers.
        try shared.appendHistory(
            HistoryEntry(at: Self.later, connectionID: "acme-bot", kind: .revoked, message: "on the server"))

        let second = directory.file("second.json")
        _ = try StoreExport.run(store: shared, to: second, user: "tester", at: Self.later)
        let back = directory.file("back.sqlite3")
        _ = try ImportFile.run(path: second, openStore: Self.openTarget(back), user: "tester", at: Self.later)
        let restored = try Store.open(path: back, secrets: SecretBox(key: StoreFixtures.key), create: false)
        let returned = try Contents(restored)
        #expect(returned.connections == before.connections)
        #expect(returned.integrations == before.integrations)
        #expect(returned.tokens == before.tokens)
        #expect(returned.history.dropLast() == before.history[...])
        #expect(returned.history.last?.message == "on the server")
        #expect(try restored.verifyAudit().isIntact)
        // The export's own entry follows the snapshot it wrote, so it stays on the server.
        #expect(returned.audit.map(\.action) == [.import, .refresh, .import, .import])
        #expect(try shared.auditLog().last?.action == .export)
    }
}
