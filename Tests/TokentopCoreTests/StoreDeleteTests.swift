import Foundation
import Testing

@testable import TokentopCore

/// `tokentop delete`: connections and integrations leave the store whole or not at all, audited, and followers of
/// the change feed learn that they went.
@Suite struct StoreDeleteTests {
    private let later = StoreFixtures.epoch.addingTimeInterval(60)

    private func revoke(_ store: Store, _ id: String) throws {
        try store.recordRevoked(connectionID: id, atProvider: true, at: later, message: "revoked at the provider")
    }

    private func historyIDs(_ store: Store) throws -> [String] {
        try store.database.query("SELECT connection_id FROM history ORDER BY id") { $0.string(0) ?? "" }
    }

    /// Many live connections are refused in one sentence, ten named and the rest counted, not with the advice once
    /// for each (500 ids made one line of 60 KB).
    @Test func refusesManyLiveConnectionsInOneSentence() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let ids = (0..<25).map { String(format: "acme-%02d", $0) }
        let store = try StoreFixtures.store(in: directory, connections: ids.map { StoreFixtures.connection($0) })
        let error = try #require(throws: StoreError.self) {
            try store.deleteConnections(ids, force: false, user: "tester", at: later)
        }
        #expect(
            error.message
                == "25 connections are not revoked and hold live tokens: \(ids.prefix(10).joined(separator: ", ")) "
                + "(and 15 more); revoke them first with `tokentop revoke ID…`, or --force to delete them without "
                + "telling the provider; nothing was deleted")
        #expect(try store.connections().count == 25)
    }

    @Test(arguments: StoreEngine.available)
    func refusesALiveConnectionAndDeletesNothingUnlessForced(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        let auditBefore = try store.auditLog().count
        let error = try #require(throws: StoreError.self) {
            try store.deleteConnections(["acme-alice"], force: false, user: "tester", at: later)
        }
        #expect(error.code == .refused)
        #expect(
            error.message
                == "acme-alice is not revoked and holds a live token: revoke it first with `tokentop revoke "
                + "acme-alice`, or --force to delete it without telling the provider; nothing was deleted")
        #expect(try store.connections().map(\.id) == ["acme-alice"])
        #expect(try store.tokenSecrets(connectionID: "acme-alice").refresh == Secret("fake-refresh-token-0001"))
        #expect(try historyIDs(store) == ["acme-alice"])
        #expect(try store.auditLog().count == auditBefore)

        let deleted = try store.deleteConnections(["acme-alice"], force: true, user: "tester", at: later)
        #expect(deleted == [DeletedConnection(id: "acme-alice", forced: true, historyEntries: 1)])
        #expect(try store.connections().isEmpty)
        #expect(try store.connection(id: "acme-alice") == nil)
        // Its history went with it; the one entry left says so, for other processes' event panes and logs.
        let history = try store.history(connectionID: "acme-alice", limit: 10)
        #expect(history.map(\.kind) == [.deleted])
        #expect(history.first?.message.hasPrefix("deleted (forced with --force: it was not revoked") == true)
        let entry = try #require(try store.auditLog().last)
        #expect(entry.action == .delete)
        #expect(entry.target == "acme-alice")
        #expect(entry.user == "tester")
        #expect(entry.outcome == "ok")
        #expect(entry.detail.hasPrefix("connection acme-alice deleted (forced with --force: it was not revoked"))
        #expect(entry.detail.hasSuffix("; 1 history entry deleted with it"))
        #expect(try store.verifyAudit().isIntact)
    }

    @Test(arguments: StoreEngine.available)
    func deletesARevokedConnectionWithItsHistoryWithoutForce(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection(), StoreFixtures.connection("acme-bob")])
        try revoke(store, "acme-alice")
        let deleted = try store.deleteConnections(["acme-alice"], force: false, user: "tester", at: later)
        #expect(deleted == [DeletedConnection(id: "acme-alice", forced: false, historyEntries: 2)])
        #expect(try store.connections().map(\.id) == ["acme-bob"])
        #expect(try historyIDs(store) == ["acme-bob", "acme-alice"])
        let entry = try #require(try store.auditLog().last)
        #expect(entry.detail == "connection acme-alice deleted (not forced); 2 history entries deleted with it")
    }

    @Test(arguments: StoreEngine.available)
    func anExpiredTokenWithNothingToRenewItNeedsNoForce(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection("acme-old", refresh: nil)])
        let afterExpiry = StoreFixtures.epoch.addingTimeInterval(7_200)
        #expect(
            try store.deleteConnections(["acme-old"], force: false, user: "tester", at: afterExpiry).map(\.forced)
                == [false])
        #expect(try store.connections().isEmpty)
    }

    @Test(arguments: StoreEngine.available)
    func anyRefusalKeepsEveryNamedConnection(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection(), StoreFixtures.connection("acme-bob")])
        try revoke(store, "acme-bob")
        let unknown = try #require(throws: StoreError.self) {
            try store.deleteConnections(["acme-bob", "typo", "typo2"], force: false, user: "tester", at: later)
        }
        #expect(unknown.code == .unknownConnection)
        #expect(
            unknown.message
                == "no connections named typo, typo2 in \(store.path); nothing was deleted; `tokentop list` shows the "
                + "ids")
        let mixed = try #require(throws: StoreError.self) {
            try store.deleteConnections(["acme-bob", "acme-alice", "typo"], force: false, user: "tester", at: later)
        }
        #expect(mixed.code == .refused)
        #expect(mixed.message.hasPrefix("no connection named typo in \(store.path); acme-alice is not revoked"))
        #expect(try store.connections().map(\.id) == ["acme-alice", "acme-bob"])
        #expect(try store.auditLog().allSatisfy { $0.action != .delete })
        // Named twice, deleted once.
        let deleted = try store.deleteConnections(["acme-bob", "acme-bob"], force: false, user: "tester", at: later)
        #expect(deleted.map(\.id) == ["acme-bob"])
        #expect(try store.auditLog().filter { $0.action == .delete }.map(\.target) == ["acme-bob"])
    }

    @Test(arguments: StoreEngine.available)
    func aParentGoesOnlyWithTheConnectionsDerivedFromIt(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        var child = StoreFixtures.connection("acme-alice-graph", scope: .delegated, refresh: nil)
        child.grant = .tokenExchange
        child.parentID = "acme-alice"
        let store = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection(), child, StoreFixtures.connection("acme-bob")])
        let error = try #require(throws: StoreError.self) {
            try store.deleteConnections(["acme-alice"], force: true, user: "tester", at: later)
        }
        #expect(error.code == .refused)
        #expect(
            error.message
                == "acme-alice-graph derives its tokens from acme-alice: name it too to delete it with acme-alice; "
                + "nothing was deleted")
        #expect(try store.connections().count == 3)
        let deleted = try store.deleteConnections(
            ["acme-alice", "acme-alice-graph"], force: true, user: "tester", at: later)
        #expect(deleted.map(\.id) == ["acme-alice", "acme-alice-graph"])
        #expect(deleted.allSatisfy { $0.forced })
        #expect(try store.connections().map(\.id) == ["acme-bob"])
    }

    @Test(arguments: StoreEngine.available)
    func followersLearnOfTheDeletionAndChangeNumbersKeepRising(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection(), StoreFixtures.connection("acme-bob")])
        // acme-bob changes last: it holds the newest change number when it is deleted.
        try revoke(store, "acme-bob")
        let seen = try store.latestChange()
        let historySeen = try store.latestHistoryID()
        try store.deleteConnections(["acme-bob"], force: false, user: "tester", at: later)
        let afterDelete = try store.changes(since: seen, skipping: { [] })
        #expect(afterDelete.connections.isEmpty)
        #expect(afterDelete.deleted == ["acme-bob"])
        #expect(afterDelete.latest == seen + 1)
        #expect(try store.changes(since: seen).deleted == ["acme-bob"])
        // The deletion's history entry is numbered after everything a follower read.
        let history = try store.history(since: historySeen, skipping: { [] })
        #expect(history.entries.map(\.kind) == [.deleted])
        // The next write is numbered past the deletion, so a follower that read up to it sees the write.
        _ = try store.importBundle(
            ImportBundle(source: "again.json", integrations: [], connections: [StoreFixtures.connection("acme-carol")]),
            at: later)
        let afterImport = try store.changes(since: afterDelete.latest, skipping: { [] })
        #expect(afterImport.connections.map(\.id) == ["acme-carol"])
        #expect(afterImport.deleted.isEmpty)
        // Its revoked tokens stay refused; with new ones, imported again under its id, it is there, not deleted,
        // for a follower that missed both.
        let refused = try #require(throws: ImportError.self) {
            try store.importBundle(
                ImportBundle(
                    source: "again.json", integrations: [], connections: [StoreFixtures.connection("acme-bob")]),
                at: later)
        }
        #expect(refused.description.contains("refresh_token: was this connection's refresh token before it was"))
        let renewed = StoreFixtures.connection(
            "acme-bob", access: "fake-access-token-0009", refresh: "fake-refresh-token-0009")
        _ = try store.importBundle(
            ImportBundle(source: "again.json", integrations: [], connections: [renewed]), at: later)
        let both = try store.changes(since: seen, skipping: { [] })
        #expect(both.deleted.isEmpty)
        #expect(Set(both.connections.map(\.id)) == ["acme-bob", "acme-carol"])
    }

    @Test(arguments: StoreEngine.available)
    func deletesAnIntegrationOnlyWhenNoConnectionUsesIt(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        _ = try store.importBundle(
            ImportBundle(source: "more.json", integrations: [StoreFixtures.integration("spare")], connections: []),
            at: later)
        let used = try #require(throws: StoreError.self) {
            try store.deleteIntegrations(["spare", "acme"], user: "tester", at: later)
        }
        #expect(used.code == .refused)
        #expect(
            used.message
                == "integration acme is used by 1 connection (acme-alice); delete it first; nothing was deleted; "
                + "`tokentop show ID` names a connection's integration")
        let unknown = try #require(throws: StoreError.self) {
            try store.deleteIntegrations(["spare", "nope"], user: "tester", at: later)
        }
        #expect(unknown.code == .unknownIntegration)
        #expect(unknown.message.hasPrefix("no integration named nope in \(store.path); nothing was deleted"))
        #expect(try store.integrations().map(\.id) == ["acme", "spare"])
        #expect(try store.deleteIntegrations(["spare"], user: "tester", at: later) == ["spare"])
        #expect(try store.integrations().map(\.id) == ["acme"])
        let entry = try #require(try store.auditLog().last)
        #expect(entry.action == .delete)
        #expect(entry.target == "spare")
        #expect(try store.verifyAudit().isIntact)
    }
}

extension StoreDeleteTests {
    /// The `deleted` entry a deletion leaves names a connection that is gone; the export still imports.
    @Test func theExportOfAStoreWithADeletionImports() throws {
        let directory = try StoreTemporaryDirectory()
        let source = try StoreFixtures.store(
            in: directory, connections: [StoreFixtures.connection(), StoreFixtures.connection("acme-bob")])
        try source.deleteConnections(["acme-bob"], force: true, user: "tester", at: later)
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: source, to: file, user: "tester", at: later)
        let target = directory.file("target.sqlite3")
        _ = try ImportFile.run(path: file, openStore: StoreExportTests.openTarget(target), user: "tester", at: later)
        let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key), create: false)
        #expect(try restored.connections().map(\.id) == ["acme-alice"])
        #expect(try restored.history(connectionID: "acme-bob", limit: 10).map(\.kind) == [.deleted])
        #expect(try restored.verifyAudit().isIntact)
    }
}

/// A running engine (a dashboard's, a daemon's) follows a deletion by another process: it drops the connection,
/// shows the deletion as another process's event, and never refreshes or writes the connection again.
@Suite struct EngineDeleteTests {
    let clock = TestClock()

    @Test(arguments: StoreEngine.available)
    func aRunningEngineDropsAConnectionAnotherProcessDeleted(engine kind: StoreEngine) async throws {
        let directory = try StoreTemporaryDirectory(kind)
        let location = try directory.location("shared")
        let key = SecretBox(key: StoreFixtures.key)
        let store = try Store.open(path: location, secrets: key)
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        sandbox.addProvider("acme", behaviour: .init(rotates: true, lifetimes: 3600...3600))
        sandbox.addClient(id: "client-acme", secret: Secret("fake-client-secret"), provider: "acme")
        var connections: [[String: Any]] = []
        for name in ["alice", "bob"] {
            sandbox.issueRefreshToken(Secret("fake-rt-\(name)"), clientID: "client-acme")
            connections.append([
                "id": "acme-\(name)", "integration": "acme", "scope": "user", "subject": "\(name)@acme.example",
                "access_token": "fake-at-\(name)", "refresh_token": "fake-rt-\(name)", "expires_in": 300,
            ])
        }
        try importSandboxAcme(connections, into: store, at: clock.now())
        let engine = try Engine(store: store, transport: sandbox, timeSource: clock, policy: .standard)
        engine.start()
        // Another process (`tokentop delete`) deletes acme-alice while it is due soon.
        let other = try Store.open(path: location, secrets: key)
        try other.deleteConnections(["acme-alice"], force: true, user: "tester", at: clock.now())
        var snapshot = engine.snapshot()
        for _ in 0..<500 where snapshot.connection(id: "acme-alice") != nil {
            clock.advance(0.1)
            try await Task.sleep(nanoseconds: 10_000_000)
            snapshot = engine.snapshot()
        }
        #expect(snapshot.connections.map(\.id) == ["acme-bob"])
        #expect(snapshot.counts(at: clock.now()).values.reduce(0, +) == 1)
        // Past both tokens' lead windows: acme-bob is refreshed, and nothing brings acme-alice back.
        var rounds = 0
        while try store.connection(id: "acme-bob")?.lastRefreshAt == nil, rounds < 400 {
            rounds += 1
            clock.advance(1)
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        snapshot = engine.snapshot()
        await engine.stop()
        #expect(try store.connection(id: "acme-bob")?.lastRefreshAt != nil)
        #expect(try store.connections().map(\.id) == ["acme-bob"])
        #expect(snapshot.connections.map(\.id) == ["acme-bob"])
        let deleted = snapshot.events.filter { $0.kind == .deleted }
        #expect(deleted.map(\.connectionID) == ["acme-alice"])
        #expect(deleted.allSatisfy { $0.byAnotherProcess })
        let refreshKinds: [HistoryEntry.Kind] = [.refreshed, .refreshFailed, .needsReauth]
        #expect(!snapshot.events.contains { $0.connectionID == "acme-alice" && refreshKinds.contains($0.kind) })
        #expect(snapshot.notice == nil)
    }
}
