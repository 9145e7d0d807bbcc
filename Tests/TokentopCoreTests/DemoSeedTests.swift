import Foundation
import Testing

@testable import TokentopCore

/// The demo's seed against its sandbox: every identity model on its own grant, answered through the real parsers.
@Suite struct DemoSeedTests {
    let clock = TestClock()

    func makeEngine() throws -> (Engine, SandboxProvider, URL) {
        let directory = try temporaryDirectory()
        let store = try Store.open(path: directory.appendingPathComponent("demo.sqlite3").path, secrets: .ephemeral())
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        try DemoSeed.seed(store: store, sandbox: sandbox, now: clock.now())
        let engine = try Engine(store: store, transport: sandbox, timeSource: clock, policy: .demo, user: "tester")
        return (engine, sandbox, directory)
    }

    @Test func everyModelOnItsOwnGrant() throws {
        let (engine, _, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let connections = engine.snapshot().connections
        #expect(connections.count == 29)
        func grants(_ scope: IdentityScope) -> Set<String> {
            Set(connections.filter { $0.scope == scope }.map { "\($0.credential.rawValue)/\($0.grant.rawValue)" })
        }
        #expect(grants(.user) == ["oauth2/refresh_token"])
        #expect(grants(.org) == ["oauth2/refresh_token", "api_key/none", "basic/none"])
        #expect(
            grants(.delegated) == [
                "app_key/none", "oauth2/jwt_bearer", "oauth2/refresh_token", "oauth2/on_behalf_of",
                "oauth2/token_exchange",
            ])
        #expect(grants(.workspace) == ["oauth2/refresh_token", "api_key/none"])
        #expect(
            grants(.bot) == ["oauth2/client_credentials", "oauth2/github_app_installation", "bot_token/none"])
        let byID = Dictionary(uniqueKeysWithValues: connections.map { ($0.id, $0) })
        #expect(byID["contoso-kim-graph"]?.parentID == "contoso-kim")
        #expect(byID["wonka-leo-ledger"]?.parentID == "wonka-leo")
        #expect(byID["umbrella-grace"]?.parentID == "umbrella-delegation")
        #expect(byID["initech-design"]?.workspace == "design")
        #expect(byID["initech-design"]?.members.count == 3)
        #expect(connections.filter { $0.scope == .workspace }.allSatisfy { $0.workspace != nil && !$0.members.isEmpty })
        let age = try #require(byID["vandelay-key"]?.secretSetAt)
        #expect(clock.now().timeIntervalSince(age) == 41 * 86_400)
        #expect(engine.snapshot().integrations["vandelay-api"]?.apiKeyPlacement?.name == "X-API-Key")
    }

    @Test(arguments: ["acme-alice", "globex-admin", "umbrella-grace", "hooli-deploybot", "octo-deploy", "wonka-leo"])
    func renewableConnectionsRenewAgainstTheSandbox(id: String) async throws {
        let (engine, _, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let before = try #require(engine.snapshot().connections.first { $0.id == id })
        clock.advance(1)
        let after = try await engine.refreshNow(id)
        #expect(after.failures == 0, "\(id): \(after.lastError?.summary ?? "")")
        #expect(after.lastRefreshAt == clock.now())
        #expect(after.accessFingerprint != nil && after.accessFingerprint != before.accessFingerprint)
        #expect(after.expiresAt.map { $0 > clock.now() } == true)
        if id == "octo-deploy" {
            #expect(after.grantedScopes == ["contents:read", "deployments:write", "metadata:read"])
        }
    }

    @Test func theSandboxRefusesAnAssertionFromAnotherKey() async throws {
        let (engine, sandbox, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let integration = try #require(engine.snapshot().integrations["umbrella-hr"])
        let stranger = try SigningKey(pem: try SigningKey.generateRSAPEM().value)
        let client = OAuthClient(transport: sandbox, clock: clock)
        let forged = await client.jwtBearer(
            integration: integration, key: stranger, issuer: integration.clientID, subject: "grace@umbrella.example",
            now: clock.now())
        guard case .failure(let error) = forged else { Issue.record("a forged assertion was accepted"); return }
        #expect(error.error == "invalid_grant")
        #expect(error.errorDescription == "Invalid JWT Signature.")
        let app = try #require(engine.snapshot().integrations["octo-git"])
        let gone = await client.githubAppInstallationToken(
            appID: app.clientID, installationID: "4040", key: stranger, apiBase: app.tokenURL, now: clock.now())
        guard case .failure(let refused) = gone else { Issue.record("a forged app JWT was accepted"); return }
        #expect(refused.status == 401)
    }

    @Test func derivedTokensAreAnsweredByOnBehalfOfAndTokenExchange() async throws {
        let (engine, sandbox, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = OAuthClient(transport: sandbox, clock: clock)
        let contoso = try #require(engine.snapshot().integrations["contoso-id"])
        let upstream = try #require(try engine.store.tokenSecrets(connectionID: "contoso-kim").access)
        let secret = try engine.store.integrationSecret(id: "contoso-id")
        let obo = await client.onBehalfOf(integration: contoso, clientSecret: secret, assertion: upstream)
        guard case .success(let grant) = obo else { Issue.record("on-behalf-of failed: \(obo)"); return }
        #expect(grant.accessToken.value.hasPrefix("demo-at-"))
        #expect(grant.scopes == ["https://graph.contoso.example/.default"])
        let wrong = await client.onBehalfOf(
            integration: contoso, clientSecret: secret, assertion: Secret("fake-upstream-token-0001"))
        guard case .failure(let refusal) = wrong else { Issue.record("an unknown assertion was accepted"); return }
        #expect(refusal.kind == .invalidGrant)

        let wonka = try #require(engine.snapshot().integrations["wonka-sts"])
        let subject = try #require(try engine.store.tokenSecrets(connectionID: "wonka-leo").access)
        let exchanged = await client.tokenExchange(
            integration: wonka, clientSecret: try engine.store.integrationSecret(id: "wonka-sts"),
            subjectToken: subject, audiences: ["ledger"])
        guard case .success(let token) = exchanged else { Issue.record("token exchange failed: \(exchanged)"); return }
        #expect(token.expiresIn != nil)
    }

    @Test func staticCredentialsAreProbedAndTheStaleKeyIsRejected() async throws {
        let (engine, _, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        for id in ["vandelay-key", "vandelay-basic", "vandelay-reports", "hooli-chatbot"] {
            let connection = try await engine.refreshNow(id)
            #expect(connection.probe?.ok == true, "\(id): \(connection.probe?.detail ?? "no probe")")
            #expect(connection.status(at: clock.now(), policy: .demo) == .static)
        }
        let legacy = try await engine.refreshNow("vandelay-legacy")
        #expect(legacy.probe?.detail == "HTTP 401: Invalid API key or credentials.")
        #expect(legacy.status(at: clock.now(), policy: .demo) == .needsReauth)
        await #expect(throws: EngineError.self) { try await engine.refreshNow("umbrella-delegation") }
    }

    @Test func theScriptOfTroubleStillPlays() async throws {
        let (engine, _, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let frank = try await engine.refreshNow("acme-frank")
        #expect(frank.reauthReason != nil)
        let design = try await engine.refreshNow("initech-design")
        #expect(design.lastError?.status == 503)
        clock.advance(41)
        let recovered = try await engine.refreshNow("initech-design")
        #expect(recovered.failures == 0)
    }
}
