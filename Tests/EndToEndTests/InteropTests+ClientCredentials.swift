import Foundation
import Testing
import TokentopCore

/// Bot connections (`grant: client_credentials`, RFC 6749 §4.4) against django-oauth-toolkit: no refresh token,
/// so the refresh actor mints a new access token before the old one expires, with each client authentication.
extension InteropTests {
    /// A bot connection of its own integration: `client` under `secret` (the registered one, or a wrong one).
    struct Bot {
        let id: String
        let integration: String
        let client: OAuthServerFixture.Client
        let secret: String
    }

    /// Imports `bots`, each with no token yet: the actor mints the first one.
    func importBots(server: OAuthServerFixture, sandbox: Sandbox, bots: [Bot]) throws -> String {
        let integrations: [[String: Any]] = bots.map { bot in
            [
                "id": bot.integration, "provider": "django-oauth-toolkit", "token_url": server.tokenURL.absoluteString,
                "revocation_url": server.revokeURL.absoluteString, "client_id": bot.client.id,
                "client_secret": bot.secret,
                "client_auth": bot.client.authentication == .basic ? "client_secret_basic" : "client_secret_post",
                // Sent as `scope` in the grant; the server grants `read write` when none is asked for.
                "scopes": ["read"],
            ]
        }
        let entries: [[String: Any]] = bots.map { bot in
            [
                "id": bot.id, "integration": bot.integration, "scope": "bot", "subject": bot.client.id,
                "grant": "client_credentials",
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: ["integrations": integrations, "connections": entries])
        return try sandbox.write("dot-bots.json", String(decoding: data, as: UTF8.self))
    }

    /// Waits until `condition` holds for the stored connections, or `seconds` pass; returns the last read.
    func waitForStore(
        _ store: Store, seconds: Double, until condition: ([Connection]) -> Bool
    ) async throws -> [Connection] {
        let deadline = Date().addingTimeInterval(seconds)
        var connections = try store.connections()
        while !condition(connections), Date() < deadline {
            try await Task.sleep(nanoseconds: 100_000_000)
            connections = try store.connections()
        }
        return connections
    }

    // FIXME: DOT takes client_secret_basic and client_secret_post from any client, so this cannot tell which one
    // tokentop sent; GrantRequestTests in TokentopCoreTests check the form and header of each.
    @Test func botsMintWithClientCredentialsAndMintAgainBeforeExpiry() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // 40-second tokens: the standard policy's lead is then half the lifetime (20–24 s with its jitter), so the
        // second mint is due 16–20 s after the first, leaving a loaded machine (CI's full suite) time for the answer:
        // with 20-second tokens its stored time once came back at the very second the first token expired.
        let lifetime = 40.0
        let server = try await OAuthServerFixture.startPrivate(
            runDirectory: sandbox.root.appendingPathComponent("dot-run").path,
            settings: ["TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS": String(Int(lifetime))])
        defer { try? server.stop() }
        let bots = [
            Bot(id: "bot-basic", integration: "dot-bot-basic", client: server.botBasicClient,
                secret: server.botBasicClient.secret),
            Bot(id: "bot-post", integration: "dot-bot-post", client: server.botPostClient,
                secret: server.botPostClient.secret),
        ]
        let file = try importBots(server: server, sandbox: sandbox, bots: bots)
        var environment = sandbox.environment.merging(binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let daemon = try Binary.startDaemon(environment: environment)
        defer { if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: Self.key))
        let minted = try await waitForStore(store, seconds: 30) { connections in
            connections.allSatisfy { $0.accessFingerprint != nil || $0.failures > 0 }
        }
        var first: [String: (fingerprint: String, expiresAt: Date)] = [:]
        for bot in bots {
            let connection = try #require(minted.first { $0.id == bot.id })
            #expect(connection.failures == 0, "\(bot.id): \(connection.lastError?.summary ?? "")")
            let fingerprint = try #require(connection.accessFingerprint, "\(bot.id) got no token")
            let expiresAt = try #require(connection.expiresAt, "\(bot.id): the server's expires_in is stored")
            // The server's lifetime from the moment of issue (this test may look much later on a loaded machine).
            #expect(abs(expiresAt.timeIntervalSince(try #require(connection.issuedAt)) - lifetime) < 1)
            #expect(connection.grantedScopes == ["read"])
            #expect(connection.refreshFingerprint == nil, "client_credentials issues no refresh token")
            first[bot.id] = (fingerprint, expiresAt)
            // The server says the token it issued is live, for this bot's client and the scope asked for.
            let access = try #require(try store.tokenSecrets(connectionID: bot.id).access?.value)
            let answer = try await server.introspection(of: access)
            #expect(answer.active, "\(bot.id)")
            #expect(answer.clientId == bot.client.id)
            #expect(answer.scope == "read")
        }

        // No refresh token to use: the actor mints again before the first token expires.
        let latest = first.values.map(\.expiresAt).max() ?? Date()
        let again = try await waitForStore(store, seconds: latest.timeIntervalSinceNow + 5) { connections in
            connections.allSatisfy { $0.accessFingerprint != first[$0.id]?.fingerprint || $0.failures > 0 }
        }
        kill(daemon.processIdentifier, SIGTERM)
        #expect(await daemon.exited() == 0)
        for bot in bots {
            let connection = try #require(again.first { $0.id == bot.id })
            let before = try #require(first[bot.id])
            #expect(connection.accessFingerprint != before.fingerprint, "\(bot.id) was not minted again")
            #expect(connection.failures == 0, "\(bot.id): \(connection.lastError?.summary ?? "")")
            #expect(connection.lastError == nil)
            #expect(connection.reauthReason == nil, "\(bot.id): \(connection.reauthReason ?? "")")
            let renewedAt = try #require(connection.lastRefreshAt)
            #expect(renewedAt < before.expiresAt, "\(bot.id) minted again only after its token expired")
            #expect(connection.expiresAt.map { $0 > before.expiresAt } == true)
            let access = try #require(try store.tokenSecrets(connectionID: bot.id).access?.value)
            let answer = try await server.introspection(of: access)
            #expect(answer.active, "\(bot.id)")
            #expect(answer.clientId == bot.client.id)
            #expect(answer.scope == "read")
            let history = try store.history(connectionID: bot.id, limit: 50)
            #expect(history.filter { $0.kind == .refreshed }.count >= 2)
            #expect(history.filter { $0.kind == .refreshFailed || $0.kind == .needsReauth }.isEmpty)

            let shown = try Binary.run(["show", bot.id, "--json"], environment: environment)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
            #expect(object["grant"] as? String == "client_credentials")
            // Healthy right after the mint; expiring once 10 s of it have passed on a slow machine.
            let status = object["status"] as? String ?? ""
            #expect(["healthy", "expiring"].contains(status), "\(bot.id) is \(status)")
        }
    }

    @Test func aWrongBotSecretIsTheIntegrationsConfigurationError() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let client = server.botBasicClient
        let bots = [
            Bot(id: "bot-right", integration: "dot-bot-right", client: client, secret: client.secret),
            Bot(id: "bot-wrong", integration: "dot-bot-wrong", client: client, secret: "fake-wrong-bot-secret-0001"),
        ]
        let file = try importBots(server: server, sandbox: sandbox, bots: bots)
        var environment = sandbox.environment.merging(binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: Self.key))
        let connectionsBefore = try store.connections()
        let integrationsBefore = try store.integrations()

        let refresh = try Binary.run(["refresh", "bot-wrong"], environment: environment)
        let said = refresh.stdout + refresh.stderr
        #expect(refresh.status != 0, "\(said)")
        #expect(said.contains("configuration error in integration dot-bot-wrong"), "\(said)")
        #expect(said.contains("invalid_client"), "\(said)")
        #expect(!said.contains("fake-wrong-bot-secret-0001"), "the secret is never shown")

        let shown = try Binary.run(["show", "bot-wrong", "--json"], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "failing")
        #expect(object["failures"] as? Int == 1)
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "invalid_client")
        #expect(error["status"] as? Int == 401)
        #expect(!shown.stdout.contains("fake-wrong-bot-secret-0001"))

        // Only the failure is recorded: no token, no re-auth, no revocation; the other bot and both integrations
        // are as imported.
        let wrong = try #require(try store.connection(id: "bot-wrong"))
        var expected = try #require(connectionsBefore.first { $0.id == "bot-wrong" })
        expected.failures = 1
        expected.lastError = wrong.lastError
        expected.retryAt = wrong.retryAt
        #expect(wrong == expected)
        #expect(wrong.reauthReason == nil)
        #expect(wrong.accessFingerprint == nil)
        // A configuration error is retried slowly (RefreshPolicy.configurationRetry, 30 minutes).
        #expect(wrong.retryAt.map { $0.timeIntervalSinceNow > 600 } == true)
        #expect(try store.connection(id: "bot-right") == connectionsBefore.first { $0.id == "bot-right" })
        #expect(try store.integrations() == integrationsBefore)
        let history = try store.history(connectionID: "bot-wrong", limit: 50).filter { $0.kind != .imported }
        #expect(history.map(\.kind) == [.refreshFailed])
        #expect(history.first?.message.hasPrefix("configuration error in integration dot-bot-wrong") == true)
        #expect(try store.history(connectionID: "bot-right", limit: 50).filter { $0.kind != .imported }.isEmpty)

        // The same client with its registered secret mints a live token.
        let right = try Binary.run(["refresh", "bot-right"], environment: environment)
        #expect(right.status == 0, "\(right.stdout)\(right.stderr)")
        let access = try #require(try store.tokenSecrets(connectionID: "bot-right").access?.value)
        let answer = try await server.introspection(of: access)
        #expect(answer.active)
        #expect(answer.clientId == client.id)
        #expect(answer.scope == "read")
    }
}
