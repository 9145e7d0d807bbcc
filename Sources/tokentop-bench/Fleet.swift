import Foundation
import TokentopCore

/// A fleet of N connections with the mix an operator of a real product sees, written through the store's own import
/// path (every secret sealed as the store seals it) and its own refresh-outcome and revocation writes.
///
/// Nothing in the base fleet is due for hours, so the dashboard can idle on it; ``makeDue(_:in:at:dueAt:)`` then
/// re-imports chosen connections with tokens that fall due when a phase wants them to.
struct Fleet {
    /// One provider: its name and the scopes its integrations serve.
    private struct Provider {
        var name: String
        var host: String
    }

    private static let providers: [Provider] = [
        "google", "microsoft", "github", "slack", "salesforce", "hubspot", "okta", "atlassian", "zoom", "dropbox",
        "notion", "box", "zendesk", "intercom", "asana", "linear",
    ].map { Provider(name: $0, host: "\($0).example") }
    /// Integrations per provider: separate apps (regions, products) that many connections share.
    private static let appsPerProvider = 8
    static let tenants = 400

    let count: Int
    let tokenURL: URL
    /// Each connection as imported, by position; ids sort in the same order.
    private(set) var entries: [ImportBundle.ConnectionEntry] = []
    /// Positions of connections that renew with a refresh token and are healthy: the ones phases make due.
    private(set) var renewable: [Int] = []

    init(count: Int, tokenURL: URL) {
        self.count = count
        self.tokenURL = tokenURL
    }

    /// Writes the fleet into `store`: one import transaction, then the failures, re-auth prompts and revocations.
    /// - Returns: how many connections got each seeded status.
    @discardableResult
    mutating func seed(into store: Store, at now: Date) throws -> [String: Int] {
        var random = SplitMix(seed: 0x7070_6572_6600_0001)
        var integrations: [ImportBundle.IntegrationEntry] = []
        // One key for every service account: an RSA key takes a moment to make, and none is ever committed.
        let serviceAccountKey = Secret(try SigningKey.generateRSAPEM().value)
        for provider in Self.providers {
            for app in 0..<Self.appsPerProvider {
                integrations.append(integration(provider, app: app))
            }
            integrations.append(serviceAccount(provider, key: serviceAccountKey))
        }
        // Each tenant's latest user connection: the parent its token-exchange connections derive from.
        var parents: [Int: String] = [:]
        var trouble: [(Int, String)] = []
        entries.reserveCapacity(count)
        for index in 0..<count {
            let provider = Self.providers[random.below(Self.providers.count)]
            let app = random.below(Self.appsPerProvider)
            let tenant = random.below(Self.tenants)
            let roll = random.unit()
            let scope: IdentityScope =
                roll < 0.60 ? .user : roll < 0.66 ? .org : roll < 0.80 ? .delegated : roll < 0.90 ? .workspace : .bot
            var entry = connection(
                index: index, scope: scope, provider: provider, app: app, tenant: tenant, parents: &parents,
                random: &random, now: now)
            let fate = random.unit()
            if entry.credential.expires {
                if fate < 0.02 {
                    trouble.append((index, "reauth"))
                } else if fate < 0.035 {
                    trouble.append((index, "failing"))
                } else if fate < 0.045 {
                    trouble.append((index, "revoked"))
                } else if fate < 0.06, entry.grant == .refreshToken {
                    // A token nothing can renew: no refresh token, past its expiry.
                    entry.refreshToken = nil
                    entry.expiresAt = now.addingTimeInterval(-Double(60 + random.below(86_400)))
                } else if entry.grant == .refreshToken {
                    renewable.append(index)
                }
            }
            entries.append(entry)
        }
        let bundle = ImportBundle(source: "tokentop-bench", integrations: integrations, connections: entries)
        _ = try store.importBundle(bundle, at: now)
        for (index, fate) in trouble {
            let id = entries[index].id
            switch fate {
            case "reauth":
                let error = ProviderError(
                    kind: .invalidGrant, error: "invalid_grant", errorDescription: "Token has been expired or revoked.",
                    status: 400)
                try store.recordRefreshFailure(
                    connectionID: id, error: error, retryAt: nil,
                    reauthReason: "the provider refused the grant: \(error.summary)", at: now)
            case "failing":
                let error = ProviderError(
                    kind: .transient, error: "server_error", errorDescription: "the provider answered HTTP 503",
                    status: 503)
                let retry = now.addingTimeInterval(Double(1_800 + random.below(5_400)))
                try store.recordRefreshFailure(
                    connectionID: id, error: error, retryAt: retry, reauthReason: nil, at: now)
            default:
                try store.recordRevoked(
                    connectionID: id, atProvider: true, at: now, message: "revoked at the provider and here")
            }
        }
        return ["trouble": trouble.count, "renewable": renewable.count]
    }

    /// Re-imports `positions` (taken from ``renewable``) so that connection `k` falls due at `dueAt(k)`.
    ///
    /// The import is the token's start, and the policy never renews a token sooner than 10 s after that, so a due
    /// time under 10 s from `now` is reached with a token already past its expiry (due at once).
    func makeDue(
        _ positions: [Int], in store: Store, at now: Date, policy: RefreshPolicy, dueAt: (Int) -> Date
    ) throws {
        var due: [ImportBundle.ConnectionEntry] = []
        due.reserveCapacity(positions.count)
        for (k, position) in positions.enumerated() {
            var entry = entries[position]
            entry.expiresAt = Self.expiry(id: entry.id, issuedAt: now, dueAt: dueAt(k), policy: policy)
            entry.expiresIn = nil
            due.append(entry)
        }
        _ = try store.importBundle(ImportBundle(source: "tokentop-bench due", connections: due), at: now)
    }

    /// The expiry that makes the policy put a token issued at `issuedAt` due at `dueAt`.
    ///
    /// Under 10 minutes of lifetime the lead window is half the lifetime, stretched by the connection's fixed jitter,
    /// so the time from issue to due grows linearly with the lifetime; one probe of the policy gives the slope.
    static func expiry(id: String, issuedAt: Date, dueAt: Date, policy: RefreshPolicy) -> Date {
        let offset = dueAt.timeIntervalSince(issuedAt)
        guard offset >= policy.minimumInterval else { return dueAt.addingTimeInterval(-0.001) }
        let probeLifetime = 100.0
        let probe = Connection(
            id: id, integrationID: "", scope: .user, subject: "", credential: .oauth2, grant: .refreshToken,
            refreshFingerprint: "x", issuedAt: issuedAt, expiresAt: issuedAt.addingTimeInterval(probeLifetime),
            createdAt: issuedAt)
        let probeDue = policy.dueAt(probe)?.timeIntervalSince(issuedAt) ?? probeLifetime
        return issuedAt.addingTimeInterval(offset * probeLifetime / probeDue)
    }

    // MARK: - Building entries

    private func integration(_ provider: Provider, app: Int) -> ImportBundle.IntegrationEntry {
        let id = "\(provider.name)-app\(app)"
        let keyed = provider.name == "google" || provider.name == "microsoft"
        return ImportBundle.IntegrationEntry(
            integration: Integration(
                id: id, provider: provider.name, tokenURL: tokenURL, revocationURL: nil,
                clientID: "fake-client-\(id)", clientAuth: app % 2 == 0 ? .clientSecretBasic : .clientSecretPost,
                scopes: ["read", "write"], secretKind: .clientSecret,
                authorizationURL: keyed ? URL(string: "https://\(provider.host)/authorize") : nil),
            clientSecret: Secret("fake-client-secret-\(id)"))
    }

    /// A provider's service account: domain-wide delegation mints tokens for users with its private key.
    private func serviceAccount(_ provider: Provider, key: Secret) -> ImportBundle.IntegrationEntry {
        let id = "\(provider.name)-sa"
        return ImportBundle.IntegrationEntry(
            integration: Integration(
                id: id, provider: provider.name, tokenURL: tokenURL, revocationURL: nil,
                clientID: "fake-sa@\(provider.host)", clientAuth: .none, scopes: ["read"], secretKind: .privateKey),
            clientSecret: key)
    }

    /// One connection. Delegated ones come in the three shapes the dashboard draws: a token exchanged for a
    /// tenant's user (a child beneath its parent), a service account acting for a user (grouped under its key),
    /// and a grant a user delegated with a refresh token of its own.
    private func connection(
        index: Int, scope: IdentityScope, provider: Provider, app: Int, tenant: Int, parents: inout [Int: String],
        random: inout SplitMix, now: Date
    ) -> ImportBundle.ConnectionEntry {
        let tenantName = String(format: "t%03d", tenant)
        let integrationID = "\(provider.name)-app\(app)"
        let number = String(format: "%06d", index)
        let id = "\(tenantName)-\(provider.name)-\(scope.rawValue.prefix(1))\(number)"
        // Healthy tokens live between 2 and 24 hours and were issued at `now`: the first is due in about 1h45m.
        let expires = now.addingTimeInterval(Double(7_200 + random.below(79_200)))
        let access = Secret("fake-access-token-\(id)")
        let refresh = Secret("fake-refresh-token-\(id)")
        let scopes = ["read", "write"]
        switch scope {
        case .user:
            let subject = "user\(random.below(50_000))@\(tenantName).example.com"
            parents[tenant] = id
            return .init(
                id: id, integrationID: integrationID, scope: .user, subject: subject, grant: .refreshToken,
                accessToken: access, refreshToken: refresh, expiresAt: expires, grantedScopes: scopes)
        case .org:
            let roll = random.below(10)
            let subject = "org:\(tenantName)"
            if roll < 5 {
                return .init(
                    id: id, integrationID: integrationID, scope: .org, subject: subject, credential: .apiKey,
                    grant: .none, accessToken: access)
            } else if roll < 7 {
                return .init(
                    id: id, integrationID: integrationID, scope: .org, subject: subject, credential: .basic,
                    grant: .none, accessToken: access)
            }
            return .init(
                id: id, integrationID: integrationID, scope: .org, subject: subject, grant: .refreshToken,
                accessToken: access, refreshToken: refresh, expiresAt: expires, grantedScopes: scopes)
        case .delegated:
            let subject = "user\(random.below(50_000))@\(tenantName).example.com"
            let shape = random.below(10)
            if shape < 4, let parent = parents[tenant] {
                return .init(
                    id: id, integrationID: integrationID, scope: .delegated, subject: subject, grant: .tokenExchange,
                    accessToken: access, expiresAt: expires, grantedScopes: scopes, parentID: parent)
            } else if shape < 7 {
                return .init(
                    id: id, integrationID: "\(provider.name)-sa", scope: .delegated, subject: subject,
                    grant: .jwtBearer, accessToken: access, expiresAt: expires, grantedScopes: ["read"])
            }
            return .init(
                id: id, integrationID: integrationID, scope: .delegated, subject: subject, grant: .refreshToken,
                accessToken: access, refreshToken: refresh, expiresAt: expires, grantedScopes: scopes)
        case .workspace:
            let workspace = "ws:\(tenantName)-\(["sales", "eng", "ops", "design", "support"][random.below(5)])"
            if random.below(2) == 0 {
                return .init(
                    id: id, integrationID: integrationID, scope: .workspace, subject: workspace,
                    credential: .botToken, grant: .none, accessToken: access, workspace: workspace)
            }
            return .init(
                id: id, integrationID: integrationID, scope: .workspace, subject: workspace, grant: .refreshToken,
                accessToken: access, refreshToken: refresh, expiresAt: expires, grantedScopes: scopes,
                workspace: workspace)
        case .bot:
            return .init(
                id: id, integrationID: integrationID, scope: .bot, subject: "app:\(tenantName)-\(provider.name)",
                grant: .clientCredentials, accessToken: access, expiresAt: expires, grantedScopes: scopes)
        }
    }
}

/// A small deterministic random generator, so every run seeds the same fleet.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
