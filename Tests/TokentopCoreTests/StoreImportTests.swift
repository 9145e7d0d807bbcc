import Foundation
import Testing

@testable import TokentopCore

@Suite struct StoreImportTests {
    @Test(arguments: StoreEngine.available)
    func importWritesIntegrationsConnectionsSecretsAndHistory(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try Store.open(path: try directory.location("db"), secrets: SecretBox(key: StoreFixtures.key))
        let bundle = ImportBundle(
            source: "team.json", integrations: [StoreFixtures.integration()],
            connections: [StoreFixtures.connection("acme-alice"), StoreFixtures.connection("acme-bob", refresh: nil)])
        let summary = try store.importBundle(bundle, at: StoreFixtures.epoch)
        #expect(summary == ImportSummary(integrationsAdded: 1, connectionsAdded: 2))
        #expect(summary.description == "integrations: 1 added, 0 updated; connections: 2 added, 0 updated")
        #expect(try store.connections().map(\.id) == ["acme-alice", "acme-bob"])
        #expect(try store.tokenSecrets(connectionID: "acme-bob").refresh == nil)
        #expect(try store.connection(id: "acme-bob")?.grant == GrantKind.none)
        #expect(
            try store.recentHistory(limit: 10) == [
                HistoryEntry(
                    at: StoreFixtures.epoch, connectionID: "acme-alice", kind: .imported,
                    message: "imported from team.json"),
                HistoryEntry(
                    at: StoreFixtures.epoch, connectionID: "acme-bob", kind: .imported,
                    message: "imported from team.json"),
            ])
    }

    @Test(arguments: StoreEngine.available)
    func aSecondBadConnectionLeavesTheStoreUntouched(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try Store.open(path: try directory.location("db"), secrets: SecretBox(key: StoreFixtures.key))
        let bundle = ImportBundle(
            source: "team.json", integrations: [StoreFixtures.integration()],
            connections: [
                StoreFixtures.connection("acme-alice"),
                StoreFixtures.connection("globex-bob", integration: "globex"),
            ])
        let error = try #require(throws: ImportError.self) { try store.importBundle(bundle, at: StoreFixtures.epoch) }
        #expect(
            error.description == """
                team.json: connections[1] (id "globex-bob"): integration: no integration "globex" in the file or in \
                the database \(store.path); add it to "integrations"
                """)
        #expect(try store.integrations().isEmpty)
        #expect(try store.connections().isEmpty)
        #expect(try store.recentHistory(limit: 10).isEmpty)
    }

    @Test(arguments: StoreEngine.available)
    func aConnectionMayUseAnIntegrationAlreadyInTheStore(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory, connections: [])
        let summary = try store.importBundle(
            ImportBundle(source: "more.json", connections: [StoreFixtures.connection("acme-carol")]),
            at: StoreFixtures.epoch)
        #expect(summary == ImportSummary(connectionsAdded: 1))
        #expect(try store.connection(id: "acme-carol")?.integrationID == "acme")
    }

    @Test(arguments: StoreEngine.available)
    func reimportingReplacesTheCredentialAndClearsItsTrouble(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try StoreFixtures.store(in: directory)
        _ = try store.recordRefreshFailure(
            connectionID: "acme-alice", error: ProviderError(kind: .invalidGrant, error: "invalid_grant"),
            retryAt: nil, reauthReason: "sign in again", at: StoreFixtures.epoch)
        _ = try store.recordRevoked(
            connectionID: "acme-alice", atProvider: false, at: StoreFixtures.epoch, message: "x")

        let later = StoreFixtures.epoch.addingTimeInterval(100)
        var integration = StoreFixtures.integration()
        integration.integration.clientAuth = .none
        integration.clientSecret = nil
        let summary = try store.importBundle(
            ImportBundle(
                source: "again.json", integrations: [integration],
                connections: [StoreFixtures.connection(access: "fake-access-token-0005", refresh: nil)]),
            at: later)
        #expect(summary == ImportSummary(integrationsUpdated: 1, connectionsUpdated: 1))
        let connection = try #require(try store.connection(id: "acme-alice"))
        #expect(connection.createdAt == StoreFixtures.epoch)
        #expect(connection.issuedAt == later)
        #expect(connection.failures == 0)
        #expect(connection.reauthReason == nil)
        #expect(connection.revokedAt == nil)
        #expect(connection.lastError == nil)
        #expect(connection.refreshFingerprint == nil)
        let secrets = try store.tokenSecrets(connectionID: "acme-alice")
        #expect(secrets.access == Secret("fake-access-token-0005"))
        #expect(secrets.refresh == nil)
        #expect(try store.integrationSecret(id: "acme") == nil)
        #expect(try store.integrations().first?.clientAuth == ClientAuthMethod.none)
        #expect(try store.history(connectionID: "acme-alice", limit: 1).first?.message == "re-imported from again.json")
    }

    @Test(arguments: StoreEngine.available)
    func aParsedFileImportsEndToEnd(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try Store.open(path: try directory.location("db"), secrets: SecretBox(key: StoreFixtures.key))
        let file = """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/token",
                               "client_id": "fake-client-id", "client_secret": "fake-client-secret-0001"}],
             "connections": [{"integration": "acme", "scope": "org", "subject": "Org 42",
                              "credential": "api_key", "access_token": "fake-api-key-0001"}]}
            """
        let bundle = try ImportFile.parse(Data(file.utf8), source: "org.json")
        _ = try store.importBundle(bundle, at: StoreFixtures.epoch)
        let connection = try #require(try store.connection(id: "acme-org-42"))
        #expect(connection.credential == .apiKey)
        #expect(connection.grant == GrantKind.none)
        #expect(connection.expiresAt == nil)
        #expect(try store.tokenSecrets(connectionID: "acme-org-42").access == Secret("fake-api-key-0001"))
    }
}
