import Foundation
import Testing

@testable import TokentopCore

/// What importing again must not destroy: another connection that holds a derived id, a revoked token, tokens
/// tokentop renewed since the file was written, a static key's age.
@Suite struct StoreImportSafetyTests {
    static let integration = """
        {"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/oauth/token",
         "client_id": "fake-client-id", "client_secret": "fake-client-secret-0001"}
        """

    /// An import file of `connections`, each a JSON object, with the acme integration.
    static func file(_ connections: String...) -> Data {
        Data(#"{"integrations": [\#(integration)], "connections": [\#(connections.joined(separator: ", "))]}"#.utf8)
    }

    static let bob = """
        {"integration": "acme", "scope": "user", "subject": "bob@example.com",
         "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001", "expires_in": 3600}
        """
    static let key = """
        {"id": "acme-key", "integration": "acme", "scope": "org", "subject": "org-1", "credential": "api_key",
         "secret": "fake-api-key-0001"}
        """

    static func store(_ directory: StoreTemporaryDirectory) throws -> Store {
        try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
    }

    static func importing(_ data: Data, _ name: String, into store: Store, at: Date) throws -> ImportSummary {
        try store.importBundle(try ImportFile.parse(data, source: name), at: at)
    }

    // MARK: - A derived id

    @Test func aDerivedIDThatNamesAnotherIdentityRefusesTheWholeImport() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        let bot = """
            {"id": "acme-bob-example-com", "integration": "acme", "scope": "bot", "subject": "build-bot",
             "access_token": "fake-bot-access-0001", "refresh_token": "fake-bot-refresh-0001"}
            """
        _ = try Self.importing(Self.file(bot), "bot.json", into: store, at: StoreFixtures.epoch)

        let later = StoreFixtures.epoch.addingTimeInterval(60)
        let error = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(Self.key, Self.bob), "team.json", into: store, at: later)
        }
        #expect(
            error.description == """
                team.json: connections[1] (id "acme-bob-example-com"): id: missing, and the id made from the \
                integration and the subject, "acme-bob-example-com", already names another connection in the \
                database \(store.path) (integration "acme", scope bot, subject "build-bot"), which the import would \
                replace; give this entry an "id" of its own (or that id, to replace it on purpose); nothing was \
                imported
                """)
        // Nothing of the file was written: the bot keeps its credential, and acme-key was not added.
        let kept = try #require(try store.connection(id: "acme-bob-example-com"))
        #expect(kept.scope == .bot && kept.subject == "build-bot")
        #expect(try store.tokenSecrets(connectionID: "acme-bob-example-com").access == Secret("fake-bot-access-0001"))
        #expect(try store.tokenSecrets(connectionID: "acme-bob-example-com").refresh == Secret("fake-bot-refresh-0001"))
        #expect(try store.connections().map(\.id) == ["acme-bob-example-com"])
        #expect(try store.recentHistory(limit: 10).map(\.message) == ["imported from bot.json"])
    }

    @Test func aDerivedIDReplacesTheSameIdentityAndAGivenIDReplacesAnyOther() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch)
        let again = try Self.importing(
            Self.file(Self.bob.replacingOccurrences(of: "0001", with: "0002")), "team.json", into: store,
            at: StoreFixtures.epoch.addingTimeInterval(60))
        #expect(again == ImportSummary(integrationsUpdated: 1, connectionsUpdated: 1))
        #expect(try store.tokenSecrets(connectionID: "acme-bob-example-com").access == Secret("fake-access-token-0002"))

        // Naming the id is how a file replaces another identity on purpose.
        let named = """
            {"id": "acme-bob-example-com", "integration": "acme", "scope": "bot", "subject": "build-bot",
             "access_token": "fake-bot-access-0001", "refresh_token": "fake-bot-refresh-0001"}
            """
        let replaced = try Self.importing(
            Self.file(named), "bot.json", into: store, at: StoreFixtures.epoch.addingTimeInterval(120))
        #expect(replaced == ImportSummary(integrationsUpdated: 1, connectionsUpdated: 1))
        #expect(try store.connection(id: "acme-bob-example-com")?.scope == .bot)
    }

    // MARK: - A revoked token

    @Test func theTokenThatWasRevokedIsRefusedAndNewTokensRestoreTheConnection() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.key, Self.bob), "team.json", into: store, at: StoreFixtures.epoch)
        let revokedAt = StoreFixtures.epoch.addingTimeInterval(60)
        for id in ["acme-bob-example-com", "acme-key"] {
            _ = try store.recordRevoked(connectionID: id, atProvider: id == "acme-key", at: revokedAt, message: "x")
        }

        let later = StoreFixtures.epoch.addingTimeInterval(120)
        let error = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(Self.bob, Self.key), "team.json", into: store, at: later)
        }
        #expect(
            error.description == """
                team.json: connections[0] (id "acme-bob-example-com"): refresh_token: was this connection's \
                refresh token before it was revoked here at 2023-11-14T22:14:20Z; a revoked refresh token is not \
                imported again: a new one is needed (the user signs in again: `tokentop reauth ID`); nothing was \
                imported
                """)
        // A static key: the secret itself; revoked at the provider too.
        let keyError = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(Self.key), "keys.json", into: store, at: later)
        }
        #expect(
            keyError.description == """
                keys.json: connections[0] (id "acme-key"): secret: was this connection's secret before it was \
                revoked at the provider and here at 2023-11-14T22:14:20Z; a revoked secret is not imported again: a \
                new one is needed; nothing was imported
                """)
        // Only the access token the same is refused too.
        let sameAccess = Self.bob.replacingOccurrences(of: "fake-refresh-token-0001", with: "fake-refresh-token-0002")
        let accessError = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(sameAccess), "team.json", into: store, at: later)
        }
        #expect(accessError.field == "access_token")
        for id in ["acme-bob-example-com", "acme-key"] {
            let connection = try #require(try store.connection(id: id))
            #expect(connection.revokedAt == revokedAt, "\(id)")
            #expect(try store.tokenSecrets(connectionID: id) == (nil, nil), "\(id)")
            #expect(try store.history(connectionID: id, limit: 1).first?.kind == .revoked, "\(id)")
        }

        // New tokens restore the revoked connection, as the import format documents.
        let renewed = Self.bob.replacingOccurrences(of: "0001", with: "0002")
        let summary = try Self.importing(Self.file(renewed), "new.json", into: store, at: later)
        #expect(summary == ImportSummary(integrationsUpdated: 1, connectionsUpdated: 1))
        let restored = try #require(try store.connection(id: "acme-bob-example-com"))
        #expect(restored.revokedAt == nil)
        #expect(try store.tokenSecrets(connectionID: restored.id).refresh == Secret("fake-refresh-token-0002"))
    }

    // MARK: - A refused token

    /// The same file run again after the provider refused the refresh token (invalid_grant) put that dead token back
    /// as healthy, cleared `needs-reauth`, and `status` said OK. A new token is still taken.
    @Test func theRefreshTokenTheProviderRefusedIsRefusedAndANewOneIsTaken() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch)
        let id = "acme-bob-example-com"
        _ = try store.recordRefreshFailure(
            connectionID: id, error: ProviderError(kind: .invalidGrant, error: "invalid_grant"), retryAt: nil,
            reauthReason: "the provider refused the grant: invalid_grant",
            at: StoreFixtures.epoch.addingTimeInterval(60))
        let later = StoreFixtures.epoch.addingTimeInterval(120)
        let error = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(Self.bob), "team.json", into: store, at: later)
        }
        #expect(
            error.description == """
                team.json: connections[0] (id "acme-bob-example-com"): refresh_token: is the refresh token the \
                provider refused (this connection needs re-auth: the provider refused the grant: invalid_grant); it \
                is not imported again: a new one is needed (the user signs in again: `tokentop reauth ID`); nothing \
                was imported
                """)
        #expect(try store.connection(id: id)?.reauthReason != nil)
        // A new refresh token is taken, and the connection is no longer waiting for a human.
        let renewed = Self.bob.replacingOccurrences(of: "fake-refresh-token-0001", with: "fake-refresh-token-0002")
        _ = try Self.importing(Self.file(renewed), "new.json", into: store, at: later)
        #expect(try store.connection(id: id)?.reauthReason == nil)
        #expect(try store.tokenSecrets(connectionID: id).refresh == Secret("fake-refresh-token-0002"))
    }

    // MARK: - Tokens tokentop renewed since the import

    @Test(arguments: StoreEngine.available)
    func theSameFileAfterARotationKeepsTheRotatedTokensAndUpdatesTheRest(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try Store.open(path: try directory.location("db"), secrets: SecretBox(key: StoreFixtures.key))
        let file = Self.file(Self.bob)
        _ = try Self.importing(file, "team.json", into: store, at: StoreFixtures.epoch)
        let refreshedAt = StoreFixtures.epoch.addingTimeInterval(600)
        _ = try store.recordRefreshSuccess(
            connectionID: "acme-bob-example-com",
            grant: TokenGrant(
                accessToken: Secret("fake-access-token-0002"), refreshToken: Secret("fake-refresh-token-0002"),
                expiresIn: 3600, scopes: ["read"]),
            at: refreshedAt, message: "refreshed; refresh token rotated")

        // The same file again, with a workspace added: the workspace is the file's, the tokens stay tokentop's.
        let later = StoreFixtures.epoch.addingTimeInterval(1_200)
        let edited = Self.file(Self.bob.replacingOccurrences(of: "}", with: #", "workspace": "Sales"}"#))
        let summary = try Self.importing(edited, "team.json", into: store, at: later)
        let note =
            "acme-bob-example-com: kept the refresh token tokentop rotated since the last import (last renewed at "
            + "2023-11-14T22:23:20Z); the file's is older"
        #expect(summary.keptTokens == [note])
        #expect(
            summary.description
                == "integrations: 0 added, 1 updated; connections: 0 added, 1 updated; \(note)")
        let secrets = try store.tokenSecrets(connectionID: "acme-bob-example-com")
        #expect(secrets.access == Secret("fake-access-token-0002"))
        #expect(secrets.refresh == Secret("fake-refresh-token-0002"))
        let connection = try #require(try store.connection(id: "acme-bob-example-com"))
        #expect(connection.refreshFingerprint == Secret("fake-refresh-token-0002").fingerprint)
        #expect(connection.expiresAt == refreshedAt.addingTimeInterval(3600))
        #expect(connection.lastRefreshAt == refreshedAt)
        #expect(connection.grantedScopes == ["read"])
        #expect(connection.workspace == "Sales")
        #expect(
            try store.history(connectionID: connection.id, limit: 1).first?.message
                == "re-imported from team.json; kept the refresh token tokentop rotated since the last import (last "
                + "renewed at 2023-11-14T22:23:20Z); the file's is older")

        // Again: still the file it was imported from, still kept.
        #expect(try Self.importing(file, "team.json", into: store, at: later).keptTokens.count == 1)
        #expect(try store.tokenSecrets(connectionID: connection.id).refresh == Secret("fake-refresh-token-0002"))

        // New tokens in the file are the file's, as ever.
        let renewed = Self.file(Self.bob.replacingOccurrences(of: "0001", with: "0003"))
        let replaced = try Self.importing(renewed, "team.json", into: store, at: later)
        #expect(replaced.keptTokens.isEmpty)
        #expect(try store.tokenSecrets(connectionID: connection.id).refresh == Secret("fake-refresh-token-0003"))
    }

    @Test func theSameFileAfterARefreshWithoutRotationKeepsTheNewerAccessToken() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch)
        let refreshedAt = StoreFixtures.epoch.addingTimeInterval(600)
        _ = try store.recordRefreshSuccess(
            connectionID: "acme-bob-example-com",
            grant: TokenGrant(accessToken: Secret("fake-access-token-0002"), expiresIn: 3600),
            at: refreshedAt, message: "refreshed")
        let summary = try Self.importing(
            Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch.addingTimeInterval(1_200))
        #expect(
            summary.keptTokens == [
                "acme-bob-example-com: kept the access token tokentop renewed at 2023-11-14T22:23:20Z; the file's is "
                    + "older"
            ])
        let secrets = try store.tokenSecrets(connectionID: "acme-bob-example-com")
        #expect(secrets.access == Secret("fake-access-token-0002"))
        #expect(secrets.refresh == Secret("fake-refresh-token-0001"))
    }

    @Test func theSameFileAfterARotationAndARevocationIsRefused() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch)
        _ = try store.recordRefreshSuccess(
            connectionID: "acme-bob-example-com",
            grant: TokenGrant(
                accessToken: Secret("fake-access-token-0002"), refreshToken: Secret("fake-refresh-token-0002"),
                expiresIn: 3600),
            at: StoreFixtures.epoch.addingTimeInterval(600), message: "refreshed; refresh token rotated")
        _ = try store.recordRevoked(
            connectionID: "acme-bob-example-com", atProvider: true, at: StoreFixtures.epoch.addingTimeInterval(900),
            message: "x")
        let error = try #require(throws: ImportError.self) {
            try Self.importing(
                Self.file(Self.bob), "team.json", into: store, at: StoreFixtures.epoch.addingTimeInterval(1_200))
        }
        #expect(error.field == "refresh_token")
        #expect(error.problem.hasPrefix("was this connection's refresh token before it was revoked at the provider"))
        #expect(try store.connection(id: "acme-bob-example-com")?.revokedAt != nil)
    }

    // MARK: - A static key's age

    @Test func anUnchangedKeyKeepsItsAgeAndANewKeyStartsAnother() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        _ = try Self.importing(Self.file(Self.key), "keys.json", into: store, at: StoreFixtures.epoch)
        let day = StoreFixtures.epoch.addingTimeInterval(86_400)
        _ = try Self.importing(Self.file(Self.key), "keys.json", into: store, at: day)
        #expect(try store.connection(id: "acme-key")?.secretSetAt == StoreFixtures.epoch)

        let given = Self.key.replacingOccurrences(of: "}", with: #", "secret_set_at": "2023-01-02T03:04:05Z"}"#)
        _ = try Self.importing(Self.file(given), "keys.json", into: store, at: day)
        let setAt = try store.connection(id: "acme-key")?.secretSetAt
        #expect(setAt == ImportFieldReader.parseRFC3339("2023-01-02T03:04:05Z"))

        let rotated = Self.key.replacingOccurrences(of: "fake-api-key-0001", with: "fake-api-key-0002")
        let week = StoreFixtures.epoch.addingTimeInterval(7 * 86_400)
        _ = try Self.importing(Self.file(rotated), "keys.json", into: store, at: week)
        #expect(try store.connection(id: "acme-key")?.secretSetAt == week)
    }

    @Test(arguments: [(-3_600.0, true), (240.0, true), (360.0, false), (86_400.0 * 365 * 4, false)] as [(Double, Bool)])
    func aSecretSetInTheFutureIsRefused(ahead: Double, accepted: Bool) throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.store(directory)
        // On the import's clock, which the demo and tests set: the real one may be years behind it.
        let setAt = RFC3339.string(from: StoreFixtures.epoch.addingTimeInterval(ahead))
        let key = Self.key.replacingOccurrences(of: "}", with: #", "secret_set_at": "\#(setAt)"}"#)
        guard !accepted else {
            _ = try Self.importing(Self.file(key), "keys.json", into: store, at: StoreFixtures.epoch)
            #expect(try store.connection(id: "acme-key")?.secretSetAt == ImportFieldReader.parseRFC3339(setAt))
            return
        }
        let error = try #require(throws: ImportError.self) {
            try Self.importing(Self.file(Self.bob, key), "keys.json", into: store, at: StoreFixtures.epoch)
        }
        #expect(
            error.description == """
                keys.json: connections[1] (id "acme-key"): secret_set_at: \(setAt) is in the future; give when the \
                secret was set (at most 5 minutes ahead of this machine's clock, for clock skew); nothing was imported
                """)
        #expect(try store.connections().isEmpty)
        #expect(try store.integrations().isEmpty)
    }
}
