import Foundation

/// The demo's integrations and connections: every identity model, tokens that live minutes, and a script of
/// trouble (one provider's outage, one refused refresh token) that plays out in the first minute.
public enum DemoSeed {
    private struct Provider {
        var name: String
        var auth: ClientAuthMethod
        var behaviour: SandboxProvider.Behaviour
        var revocation = true
    }

    private struct Seed {
        var id: String
        var provider: String
        var scope: IdentityScope
        var subject: String
        var credential: CredentialKind = .oauth2
        var grant: GrantKind = .refreshToken
        /// Seconds from now until the seeded access token expires; nil for static credentials.
        var expiresIn: Int?
        /// A refresh token the provider has already forgotten: its first refresh gets `invalid_grant`.
        var refused = false
        var scopes: [String] = ["read"]
    }

    /// Creates the demo's integrations and connections in `store` and registers their tokens with `sandbox`.
    /// - Parameter now: the moment the demo starts; the script of trouble is timed from it.
    public static func seed(store: Store, sandbox: SandboxProvider, now: Date) throws {
        let outage = now.addingTimeInterval(0)...now.addingTimeInterval(40)
        let providers = [
            Provider(name: "acme-crm", auth: .clientSecretBasic, behaviour: .init(rotates: true, lifetimes: 90...600)),
            Provider(
                name: "globex-mail", auth: .clientSecretPost, behaviour: .init(rotates: false, lifetimes: 60...480)),
            Provider(
                name: "initech-files", auth: .clientSecretBasic,
                behaviour: .init(rotates: true, lifetimes: 120...600, outage: outage)),
            Provider(
                name: "umbrella-hr", auth: .clientSecretBasic, behaviour: .init(rotates: true, lifetimes: 60...540)),
            Provider(
                name: "hooli-chat", auth: .clientSecretPost, behaviour: .init(rotates: false, lifetimes: 60...300)),
            Provider(
                name: "vandelay-api", auth: .none, behaviour: .init(rotates: false), revocation: false),
        ]
        let seeds: [Seed] = [
            Seed(id: "acme-alice", provider: "acme-crm", scope: .user, subject: "alice@example.com", expiresIn: 35),
            Seed(id: "acme-bob", provider: "acme-crm", scope: .user, subject: "bob@example.com", expiresIn: 240),
            Seed(id: "acme-carol", provider: "acme-crm", scope: .user, subject: "carol@example.com", expiresIn: 420),
            Seed(
                id: "acme-frank", provider: "acme-crm", scope: .user, subject: "frank@example.com", expiresIn: 42,
                refused: true),
            Seed(id: "globex-dave", provider: "globex-mail", scope: .user, subject: "dave@example.org", expiresIn: 150),
            Seed(id: "globex-erin", provider: "globex-mail", scope: .user, subject: "erin@example.org", expiresIn: 540),
            Seed(
                id: "globex-admin", provider: "globex-mail", scope: .org, subject: "org:example.org", expiresIn: 300,
                scopes: ["admin.read", "admin.write"]),
            Seed(
                id: "vandelay-key", provider: "vandelay-api", scope: .org, subject: "org:vandelay-industries",
                credential: .apiKey, grant: .none),
            Seed(
                id: "vandelay-basic", provider: "vandelay-api", scope: .org, subject: "org:vandelay-imports",
                credential: .basic, grant: .none),
            Seed(
                id: "umbrella-grace", provider: "umbrella-hr", scope: .delegated, subject: "grace@umbrella.example",
                expiresIn: 50),
            Seed(
                id: "umbrella-heidi", provider: "umbrella-hr", scope: .delegated, subject: "heidi@umbrella.example",
                expiresIn: 360),
            Seed(
                id: "umbrella-ivan", provider: "umbrella-hr", scope: .delegated, subject: "ivan@umbrella.example",
                expiresIn: 180),
            Seed(
                id: "umbrella-judy", provider: "umbrella-hr", scope: .delegated, subject: "judy@umbrella.example",
                expiresIn: 480),
            Seed(
                id: "initech-design", provider: "initech-files", scope: .workspace, subject: "ws:design",
                expiresIn: 30),
            Seed(
                id: "initech-eng", provider: "initech-files", scope: .workspace, subject: "ws:engineering",
                expiresIn: 300),
            Seed(
                id: "initech-ops", provider: "initech-files", scope: .workspace, subject: "ws:operations",
                expiresIn: 570),
            Seed(id: "acme-sales-ws", provider: "acme-crm", scope: .workspace, subject: "ws:sales", expiresIn: 105),
            Seed(
                id: "hooli-deploybot", provider: "hooli-chat", scope: .bot, subject: "app:deploybot",
                grant: .clientCredentials, expiresIn: 45, scopes: ["chat.write"]),
            Seed(
                id: "hooli-alertbot", provider: "hooli-chat", scope: .bot, subject: "app:alertbot",
                grant: .clientCredentials, expiresIn: 210, scopes: ["chat.write"]),
            Seed(
                id: "hooli-chatbot", provider: "hooli-chat", scope: .bot, subject: "app:chatbot",
                credential: .botToken, grant: .none),
            Seed(
                id: "acme-syncbot", provider: "acme-crm", scope: .bot, subject: "app:syncbot",
                grant: .clientCredentials, expiresIn: 480),
            Seed(
                id: "vandelay-reports", provider: "vandelay-api", scope: .workspace, subject: "ws:reports",
                credential: .apiKey, grant: .none),
        ]

        var integrations: [[String: Any]] = []
        for provider in providers {
            let clientID = "demo-client-\(provider.name)"
            let secret = Secret("demo-client-secret-\(provider.name)")
            sandbox.addProvider(provider.name, behaviour: provider.behaviour)
            sandbox.addClient(id: clientID, secret: secret, provider: provider.name)
            var entry: [String: Any] = [
                "id": provider.name, "provider": provider.name,
                "token_url": SandboxProvider.tokenURL(provider.name).absoluteString,
                "client_id": clientID, "client_auth": provider.auth.rawValue,
            ]
            if provider.auth != .none { entry["client_secret"] = secret.value }
            if provider.revocation {
                entry["revocation_url"] = SandboxProvider.revocationURL(provider.name).absoluteString
            }
            integrations.append(entry)
        }
        var connections: [[String: Any]] = []
        for seed in seeds {
            var entry: [String: Any] = [
                "id": seed.id, "integration": seed.provider, "scope": seed.scope.rawValue, "subject": seed.subject,
                "credential": seed.credential.rawValue, "grant": seed.grant.rawValue,
                "access_token": SandboxProvider.makeToken("demo-at-").value,
            ]
            if let expiresIn = seed.expiresIn {
                entry["expires_in"] = expiresIn
                entry["granted_scopes"] = seed.scopes
            }
            if seed.grant == .refreshToken {
                let refresh = SandboxProvider.makeToken("demo-rt-")
                entry["refresh_token"] = refresh.value
                if !seed.refused { sandbox.issueRefreshToken(refresh, clientID: "demo-client-\(seed.provider)") }
            }
            connections.append(entry)
        }
        let data = try JSONSerialization.data(
            withJSONObject: ["integrations": integrations, "connections": connections], options: [.sortedKeys])
        _ = try store.importBundle(try ImportFile.parse(data, source: "demo"), at: now)
    }
}
