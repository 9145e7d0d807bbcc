import Foundation
import Testing
import TokentopCore

/// tokentop against a real OAuth 2.0 server (django-oauth-toolkit with rotation and reuse protection on):
/// tokens that server issued are imported, refreshed by the actor, revoked by the CLI, and rotated away.
///
/// Token values never reach an `#expect`: only Booleans and counts derived from them do.
@Suite("Interoperability with django-oauth-toolkit")
struct InteropTests {
    /// A fixed, obviously fake test key, shared by the in-process store and the binary through TOKENTOP_KEY.
    static let key = [UInt8](repeating: 0x42, count: 32)

    /// Imports the tokens `server` issued as connections of two integrations, one per client authentication.
    func importFile(
        server: OAuthServerFixture, sandbox: Sandbox,
        connections: [(id: String, client: OAuthServerFixture.Client, access: String, refresh: String)]
    ) throws -> String {
        let integrations: [[String: Any]] = [server.basicClient, server.postClient].map { client in
            [
                "id": client.id, "provider": "django-oauth-toolkit", "token_url": server.tokenURL.absoluteString,
                "revocation_url": server.revokeURL.absoluteString, "client_id": client.id,
                "client_secret": client.secret,
                "client_auth": client.authentication == .basic ? "client_secret_basic" : "client_secret_post",
            ]
        }
        let entries: [[String: Any]] = connections.map { connection in
            [
                "id": connection.id, "integration": connection.client.id, "scope": "user",
                "subject": "alice@example.com", "access_token": connection.access,
                "refresh_token": connection.refresh,
                // Already due (tokentop takes it as expiring now), so the actor renews it at once.
                "expires_in": 0, "granted_scopes": ["read"],
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: ["integrations": integrations, "connections": entries])
        return try sandbox.write("dot-import.json", String(decoding: data, as: UTF8.self))
    }

    var binaryEnvironment: [String: String] { ["TOKENTOP_KEY": Data(Self.key).base64EncodedString()] }

    @Test func actorRefreshesWithRotationAndCommandLineRevokes() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let basic = try await server.passwordGrant(client: server.basicClient)
        let post = try await server.passwordGrant(client: server.postClient)
        let file = try importFile(
            server: server, sandbox: sandbox,
            connections: [
                ("dot-basic", server.basicClient, basic.access, basic.refresh),
                ("dot-post", server.postClient, post.access, post.refresh),
            ])
        var environment = sandbox.environment.merging(binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        // The background actor renews both, with each client authentication method.
        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: Self.key))
        let engine = try Engine(store: store, transport: URLSessionTransport(timeout: 20))
        engine.start()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let refreshed = engine.snapshot().connections.filter { $0.lastRefreshAt != nil || $0.failures > 0 }
            if refreshed.count == 2 { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        await engine.stop()
        for connection in engine.snapshot().connections {
            #expect(connection.lastRefreshAt != nil, "\(connection.id) was not refreshed")
            #expect(connection.failures == 0, "\(connection.id): \(connection.lastError?.summary ?? "")")
            #expect(connection.expiresAt.map { $0.timeIntervalSinceNow > 60 } == true, "the server's expiry is stored")
        }

        // Rotation: the stored refresh token is the server's new one, and the new access token is live.
        let basicTokens = try store.tokenSecrets(connectionID: "dot-basic")
        let rotated = basicTokens.refresh.map { $0.value != basic.refresh } ?? false
        #expect(rotated, "the rotated refresh token was stored")
        let newAccess = try #require(basicTokens.access?.value)
        let liveBefore = try await server.introspect(token: newAccess)
        #expect(liveBefore)

        // `tokentop revoke` calls RFC 7009; introspection then says inactive.
        let revoke = try Binary.run(["revoke", "dot-basic"], environment: environment)
        #expect(revoke.status == 0, "\(revoke.stdout)\(revoke.stderr)")
        #expect(revoke.stdout.contains("revoked at the provider"))
        let liveAfter = try await server.introspect(token: newAccess)
        #expect(!liveAfter, "the provider still thinks the token is active")
        let shown = try Binary.run(["show", "dot-basic", "--json"], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "revoked")
        #expect(object["revoked_at_provider"] as? Bool == true)
    }

    @Test func aRefreshTokenRotatedAwayEndsInNeedsReauth() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tokens = try await server.passwordGrant(client: server.basicClient)
        let file = try importFile(
            server: server, sandbox: sandbox,
            connections: [("dot-stale", server.basicClient, tokens.access, tokens.refresh)])
        var environment = sandbox.environment.merging(binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        #expect(try Binary.run(["import", file], environment: environment).status == 0)

        // Someone else uses the refresh token first: the server rotates it, and the stored copy is stale.
        let elsewhere = try await server.refreshGrant(refreshToken: tokens.refresh, client: server.basicClient)
        #expect(elsewhere.status == 200)

        let refresh = try Binary.run(["refresh", "dot-stale"], environment: environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("needs re-auth"), "\(refresh.stdout)\(refresh.stderr)")
        let shown = try Binary.run(["show", "dot-stale", "--json"], environment: environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "needs-reauth")
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "invalid_grant")
        #expect(error["status"] as? Int == 400)
        let reason = object["reauth_reason"] as? String ?? ""
        #expect(reason.hasPrefix("the provider refused the grant: invalid_grant"))

        // No retries after invalid_grant: a second refresh is refused here, without asking the provider.
        let again = try Binary.run(["refresh", "dot-stale"], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("needs re-auth"))
    }

    @Test func threeDaemonsShareOneDatabaseWithoutDoubleRefreshes() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let count = 40
        var connections: [(id: String, client: OAuthServerFixture.Client, access: String, refresh: String)] = []
        for index in 0..<count {
            let tokens = try await server.passwordGrant(client: server.basicClient)
            connections.append(("shared-\(index)", server.basicClient, tokens.access, tokens.refresh))
        }
        let file = try importFile(server: server, sandbox: sandbox, connections: connections)
        var environment = sandbox.environment.merging(binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        #expect(try Binary.run(["import", file], environment: environment).status == 0)

        // Three refreshers race for the same 40 due tokens; rotation and reuse protection punish any double use.
        let daemons = try (0..<3).map { _ in try Binary.startDaemon(environment: environment) }
        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: Self.key))
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline {
            let settled = try store.connections().filter { $0.lastRefreshAt != nil || $0.failures > 0 }
            if settled.count == count { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        for daemon in daemons { kill(daemon.processIdentifier, SIGTERM) }
        var statuses: [Int32] = []
        for daemon in daemons { statuses.append(await daemon.exited()) }
        #expect(statuses.allSatisfy { $0 == 0 })

        let stored = try store.connections()
        #expect(stored.count == count)
        #expect(stored.filter { $0.lastRefreshAt != nil }.count == count, "every token refreshed")
        #expect(stored.filter { $0.reauthReason != nil }.count == 0, "no invalid_grant")
        #expect(stored.filter { $0.failures > 0 }.count == 0)
        var refreshes = 0
        for connection in stored {
            let history = try store.history(connectionID: connection.id, limit: 50)
            let refreshed = history.filter { $0.kind == .refreshed }.count
            #expect(refreshed == 1, "\(connection.id) refreshed \(refreshed) times")
            refreshes += refreshed
        }
        #expect(refreshes == count, "exactly one refresh per token")
    }
}
