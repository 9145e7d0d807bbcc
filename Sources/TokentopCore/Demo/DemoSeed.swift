import Foundation

/// The demo's integrations and connections: all five identity models, each on the grant its providers really use,
/// tokens that live minutes, and a script of trouble (one provider's outage, one refused refresh token, one API key
/// the provider no longer accepts) that plays out in the first minute. The refused user signs in again by the device
/// flow, which a pretend user at the sandbox approves a few seconds after `a`.
///
/// The ids, subjects, scopes, grants and timings are fixed, so tests can rely on them; only the secrets (tokens and
/// the two private keys, made once per process) are random.
public enum DemoSeed {
    /// How a provider's integration proves itself when it is not a client secret.
    private enum KeyRole {
        /// A Google-style service account whose JWT bearer assertions (RFC 7523) impersonate users.
        case serviceAccount(String)
        /// A GitHub App with its app id and the installations that exist.
        case githubApp(String, installations: Set<String>)
    }

    private struct Provider {
        var name: String
        var auth: ClientAuthMethod
        var behaviour: SandboxProvider.Behaviour
        var revocation = true
        var key: KeyRole?
        /// Whether the provider has an API endpoint that static credentials are probed at.
        var probe = false
        var placement: APIKeyPlacement?
        var scopes: [String] = []
        /// Whether users sign in again by the device flow (RFC 8628), which the sandbox's pretend user approves.
        var device = false
    }

    private struct Seed {
        var id: String
        var provider: String
        var scope: IdentityScope
        var subject: String
        var credential: CredentialKind = .oauth2
        var grant: GrantKind = .refreshToken
        /// Seconds from now until the seeded access token expires; nil for static credentials and minted grants.
        var expiresIn: Int?
        /// A refresh token the provider has already forgotten: its first refresh gets `invalid_grant`.
        var refused = false
        var scopes: [String] = ["read"]
        /// The connection this one is derived from.
        var parent: String?
        var workspace: String?
        var members: [String] = []
        /// How many days ago a static secret was set.
        var ageDays: Int?
        /// A static secret the provider no longer accepts: its first probe gets 401.
        var rejected = false
    }

    private static let providers: [Provider] = [
        Provider(
            name: "acme-crm", auth: .clientSecretBasic, behaviour: .init(rotates: true, lifetimes: 90...600),
            device: true),
        Provider(name: "globex-mail", auth: .clientSecretPost, behaviour: .init(rotates: false, lifetimes: 60...480)),
        Provider(
            name: "initech-files", auth: .clientSecretBasic, behaviour: .init(rotates: true, lifetimes: 120...600)),
        Provider(
            name: "umbrella-hr", auth: .none, behaviour: .init(rotates: false, lifetimes: 60...540), revocation: false,
            key: .serviceAccount("svc-directory@umbrella-hr.iam.example"), scopes: ["hr.directory.read"]),
        Provider(
            name: "contoso-id", auth: .clientSecretPost, behaviour: .init(rotates: true, lifetimes: 120...600),
            scopes: ["https://graph.contoso.example/.default"]),
        Provider(name: "wonka-sts", auth: .clientSecretBasic, behaviour: .init(rotates: false, lifetimes: 120...600)),
        Provider(
            name: "hooli-chat", auth: .clientSecretPost, behaviour: .init(rotates: false, lifetimes: 60...300),
            probe: true),
        Provider(
            name: "octo-git", auth: .none, behaviour: .init(rotates: false, lifetimes: 120...600), revocation: false,
            key: .githubApp("31337", installations: ["1001"])),
        Provider(
            name: "vandelay-api", auth: .none, behaviour: .init(rotates: false), revocation: false, probe: true,
            placement: APIKeyPlacement(location: .header, name: "X-API-Key")),
    ]

    private static let seeds: [Seed] = [
        // User: each person signed in once; refresh tokens keep them going.
        Seed(id: "acme-alice", provider: "acme-crm", scope: .user, subject: "alice@example.com", expiresIn: 35),
        Seed(id: "acme-bob", provider: "acme-crm", scope: .user, subject: "bob@example.com", expiresIn: 240),
        Seed(id: "acme-carol", provider: "acme-crm", scope: .user, subject: "carol@example.com", expiresIn: 420),
        Seed(
            id: "acme-frank", provider: "acme-crm", scope: .user, subject: "frank@example.com", expiresIn: 42,
            refused: true),
        Seed(id: "globex-dave", provider: "globex-mail", scope: .user, subject: "dave@example.org", expiresIn: 150),
        Seed(id: "globex-erin", provider: "globex-mail", scope: .user, subject: "erin@example.org", expiresIn: 540),
        // Org: an admin's OAuth grant everyone shares, an API key in a header, basic auth, a key gone stale.
        Seed(
            id: "globex-admin", provider: "globex-mail", scope: .org, subject: "org:example.org", expiresIn: 300,
            scopes: ["admin.read", "admin.write"]),
        Seed(
            id: "vandelay-key", provider: "vandelay-api", scope: .org, subject: "org:vandelay-industries",
            credential: .apiKey, grant: .none, ageDays: 41),
        Seed(
            id: "vandelay-basic", provider: "vandelay-api", scope: .org, subject: "org:vandelay-imports",
            credential: .basic, grant: .none, ageDays: 212),
        Seed(
            id: "vandelay-legacy", provider: "vandelay-api", scope: .org, subject: "org:vandelay-exports",
            credential: .apiKey, grant: .none, ageDays: 400, rejected: true),
        // Delegated: one admin grant to a service account, user tokens minted from it; and tokens derived from a
        // user's upstream token by on-behalf-of and token exchange.
        Seed(
            id: "umbrella-delegation", provider: "umbrella-hr", scope: .delegated, subject: "umbrella.example",
            credential: .appKey, grant: .none, ageDays: 90),
        Seed(
            id: "umbrella-grace", provider: "umbrella-hr", scope: .delegated, subject: "grace@umbrella.example",
            grant: .jwtBearer, expiresIn: 50, scopes: ["hr.directory.read"], parent: "umbrella-delegation"),
        Seed(
            id: "umbrella-heidi", provider: "umbrella-hr", scope: .delegated, subject: "heidi@umbrella.example",
            grant: .jwtBearer, expiresIn: 360, scopes: ["hr.directory.read"], parent: "umbrella-delegation"),
        Seed(
            id: "umbrella-ivan", provider: "umbrella-hr", scope: .delegated, subject: "ivan@umbrella.example",
            grant: .jwtBearer, expiresIn: 180, scopes: ["hr.directory.read"], parent: "umbrella-delegation"),
        Seed(
            id: "umbrella-judy", provider: "umbrella-hr", scope: .delegated, subject: "judy@umbrella.example",
            grant: .jwtBearer, expiresIn: 480, scopes: ["hr.directory.read"], parent: "umbrella-delegation"),
        Seed(
            id: "contoso-kim", provider: "contoso-id", scope: .delegated, subject: "kim@contoso.example",
            expiresIn: 270, scopes: ["api://middle-tier/access"]),
        Seed(
            id: "contoso-kim-graph", provider: "contoso-id", scope: .delegated, subject: "kim@contoso.example",
            grant: .onBehalfOf, expiresIn: 540, scopes: ["https://graph.contoso.example/.default"],
            parent: "contoso-kim"),
        Seed(
            id: "wonka-leo", provider: "wonka-sts", scope: .delegated, subject: "leo@wonka.example", expiresIn: 330),
        Seed(
            id: "wonka-leo-ledger", provider: "wonka-sts", scope: .delegated, subject: "leo@wonka.example",
            grant: .tokenExchange, expiresIn: 560, scopes: ["ledger.read"], parent: "wonka-leo"),
        // Workspace: credentials a team owns and its members share.
        Seed(
            id: "initech-design", provider: "initech-files", scope: .workspace, subject: "ws:design", expiresIn: 30,
            workspace: "design", members: ["dana@initech.example", "eli@initech.example", "fay@initech.example"]),
        Seed(
            id: "initech-eng", provider: "initech-files", scope: .workspace, subject: "ws:engineering",
            expiresIn: 300, workspace: "engineering", members: ["gus@initech.example", "hal@initech.example"]),
        Seed(
            id: "initech-ops", provider: "initech-files", scope: .workspace, subject: "ws:operations",
            expiresIn: 570, workspace: "operations", members: ["ida@initech.example"]),
        Seed(
            id: "acme-sales-ws", provider: "acme-crm", scope: .workspace, subject: "ws:sales", expiresIn: 105,
            workspace: "sales", members: ["bob@example.com", "carol@example.com"]),
        Seed(
            id: "vandelay-reports", provider: "vandelay-api", scope: .workspace, subject: "ws:reports",
            credential: .apiKey, grant: .none, workspace: "reports",
            members: ["art@vandelay.example", "kel@vandelay.example"], ageDays: 7),
        // Bot: the app itself, by client credentials, a GitHub App installation, and a static bot token.
        Seed(
            id: "hooli-deploybot", provider: "hooli-chat", scope: .bot, subject: "app:deploybot",
            grant: .clientCredentials, expiresIn: 45, scopes: ["chat.write"]),
        Seed(
            id: "hooli-alertbot", provider: "hooli-chat", scope: .bot, subject: "app:alertbot",
            grant: .clientCredentials, expiresIn: 210, scopes: ["chat.write"]),
        Seed(
            id: "hooli-chatbot", provider: "hooli-chat", scope: .bot, subject: "app:chatbot", credential: .botToken,
            grant: .none, ageDays: 19),
        Seed(
            id: "acme-syncbot", provider: "acme-crm", scope: .bot, subject: "app:syncbot", grant: .clientCredentials,
            expiresIn: 480),
        Seed(
            id: "octo-deploy", provider: "octo-git", scope: .bot, subject: "1001", grant: .githubAppInstallation,
            scopes: []),
    ]

    /// The service account's and the GitHub App's RSA keys, made on first use: a key takes a moment to generate, and
    /// none is ever shipped or committed.
    private static let generatedKeys: Result<[Secret], SigningKeyError> = {
        do throws(SigningKeyError) {
            return .success([try SigningKey.generateRSAPEM(), try SigningKey.generateRSAPEM()])
        } catch {
            return .failure(error)
        }
    }()

    /// The grants the import file format does not take yet; the demo hands them to the store directly.

    /// Creates the demo's integrations and connections in `store` and registers their secrets with `sandbox`.
    /// - Parameter now: the moment the demo starts; the script of trouble is timed from it.
    public static func seed(store: Store, sandbox: SandboxProvider, now: Date) throws {
        let outage = now.addingTimeInterval(0)...now.addingTimeInterval(40)
        var keys: [String: Secret] = [:]
        var integrations: [[String: Any]] = []
        for provider in providers {
            var behaviour = provider.behaviour
            if provider.name == "initech-files" { behaviour.outage = outage }
            sandbox.addProvider(provider.name, behaviour: behaviour)
            integrations.append(try integration(provider, sandbox: sandbox, keys: &keys))
        }
        var connections: [[String: Any]] = []
        for seed in seeds {
            let provider = providers.first { $0.name == seed.provider }!
            let secret = secret(for: seed, keys: keys)
            if let secret, seed.credential != .oauth2, seed.credential != .appKey, !seed.rejected {
                sandbox.acceptStaticSecret(secret, provider: seed.provider, placement: provider.placement)
            }
            if let secret, seed.credential == .oauth2 { sandbox.issueAccessToken(secret) }
            var refresh: Secret?
            if seed.grant == .refreshToken {
                refresh = SandboxProvider.makeToken("demo-rt-")
                if !seed.refused, let refresh {
                    sandbox.issueRefreshToken(refresh, clientID: "demo-client-\(seed.provider)")
                }
            }
            connections.append(entry(seed, secret: secret, refresh: refresh, now: now))
        }
        let data = try JSONSerialization.data(
            withJSONObject: ["integrations": integrations, "connections": connections], options: [.sortedKeys])
        _ = try store.importBundle(try ImportFile.parse(data, source: "demo"), at: now)
    }

    /// The import entry of one provider's integration; registers its client or trusted key with the sandbox.
    private static func integration(
        _ provider: Provider, sandbox: SandboxProvider, keys: inout [String: Secret]
    ) throws -> [String: Any] {
        var entry: [String: Any] = [
            "id": provider.name, "provider": provider.name,
            "token_url": SandboxProvider.tokenURL(provider.name).absoluteString, "client_auth": provider.auth.rawValue,
        ]
        if !provider.scopes.isEmpty { entry["scopes"] = provider.scopes }
        switch provider.key {
        case .serviceAccount(let issuer)?:
            let pem = try generatedKeys.get()[0]
            keys[provider.name] = pem
            sandbox.addServiceAccount(issuer, key: try SigningKey(pem: pem.value), provider: provider.name)
            entry["client_id"] = issuer
            entry["private_key"] = pem.value
        case .githubApp(let appID, let installations)?:
            let pem = try generatedKeys.get()[1]
            keys[provider.name] = pem
            sandbox.addGitHubApp(
                appID, key: try SigningKey(pem: pem.value), provider: provider.name, installations: installations)
            entry["client_id"] = appID
            entry["private_key"] = pem.value
            entry["token_url"] = SandboxProvider.apiBase(provider.name).absoluteString
        case nil:
            let clientID = "demo-client-\(provider.name)"
            let secret = Secret("demo-client-secret-\(provider.name)")
            sandbox.addClient(id: clientID, secret: secret, provider: provider.name)
            entry["client_id"] = clientID
            if provider.auth != .none { entry["client_secret"] = secret.value }
        }
        if provider.revocation {
            entry["revocation_url"] = SandboxProvider.revocationURL(provider.name).absoluteString
        }
        if provider.device {
            entry["device_authorization_url"] = SandboxProvider.deviceAuthorizationURL(provider.name).absoluteString
        }
        if provider.probe {
            entry["probe_url"] = SandboxProvider.probeURL(provider.name).absoluteString
            entry["probe_interval"] = 60
        }
        if let placement = provider.placement {
            entry["api_key_in"] = placement.location.rawValue
            entry["api_key_name"] = placement.name
        }
        return entry
    }

    /// The seeded secret: a fresh token, a static key or password, the service account's key; nil for a grant
    /// that mints its first token at once.
    private static func secret(for seed: Seed, keys: [String: Secret]) -> Secret? {
        switch seed.credential {
        case .oauth2:
            return seed.expiresIn == nil ? nil : SandboxProvider.makeToken("demo-at-")
        case .apiKey: return SandboxProvider.makeToken("demo-key-")
        case .basic: return Secret("reports:" + SandboxProvider.makeToken("demo-pw-").value)
        case .botToken: return SandboxProvider.makeToken("xoxb-demo-")
        case .appKey:
            // A PEM ends with a line break, which an import refuses as a copy-and-paste slip.
            return keys[seed.provider].map { Secret($0.value.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// The import entry of one connection.
    private static func entry(_ seed: Seed, secret: Secret?, refresh: Secret?, now: Date) -> [String: Any] {
        var entry: [String: Any] = [
            "id": seed.id, "integration": seed.provider, "scope": seed.scope.rawValue, "subject": seed.subject,
            "credential": seed.credential.rawValue, "grant": seed.grant.rawValue,
        ]
        if let secret { entry["access_token"] = secret.value }
        if let refresh { entry["refresh_token"] = refresh.value }
        if let expiresIn = seed.expiresIn { entry["expires_in"] = expiresIn }
        if seed.credential == .oauth2, !seed.scopes.isEmpty { entry["granted_scopes"] = seed.scopes }
        if let parent = seed.parent { entry["parent"] = parent }
        if let workspace = seed.workspace { entry["workspace"] = workspace }
        if !seed.members.isEmpty { entry["members"] = seed.members }
        if let days = seed.ageDays {
            entry["secret_set_at"] = RFC3339.string(from: now.addingTimeInterval(-Double(days) * 86_400))
        }
        return entry
    }
}
