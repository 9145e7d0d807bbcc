import Foundation

/// One credential under an integration, bound to an identity model and a subject.
///
/// A `Connection` holds only facts that are safe to show: the secrets themselves stay in the store and are read
/// through ``SecretBox`` when a refresh or a revocation needs them.
public struct Connection: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var integrationID: String
    public var scope: IdentityScope
    /// Who the credential stands for: an e-mail, an org id, a workspace id, an app id.
    public var subject: String
    public var credential: CredentialKind
    public var grant: GrantKind
    /// Scopes the provider granted with the current token.
    public var grantedScopes: [String]
    /// A fingerprint of the current access token or key (see ``Secret/fingerprint``); never the secret.
    public var accessFingerprint: String?
    /// A fingerprint of the current refresh token, when there is one.
    public var refreshFingerprint: String?
    /// When the current access token was obtained; the start of its lifetime.
    public var issuedAt: Date?
    /// When the current access token expires; nil for credentials without expiry.
    public var expiresAt: Date?
    /// Whether ``expiresAt`` is an assumption: the provider's answer gave no expiry, so the catalog's (or the
    /// policy's) default lifetime stands in for it, and the token is renewed on that schedule.
    public var expiryAssumed: Bool
    public var lastRefreshAt: Date?
    /// Consecutive failed refreshes since the last success.
    public var failures: Int
    public var lastError: ProviderError?
    /// The earliest moment of the next retry after a failure.
    public var retryAt: Date?
    /// Set when the provider refused the grant: why a human must act.
    public var reauthReason: String?
    public var revokedAt: Date?
    /// Whether the revocation reached the provider, or was recorded here only.
    public var revokedAtProvider: Bool
    public var createdAt: Date
    /// The connection whose token this one is derived from (on-behalf-of, token exchange); nil for a root grant.
    public var parentID: String?
    /// The project, team or workspace that owns the credential, when one does.
    public var workspace: String?
    /// Who shares the credential: a workspace's members, by name or e-mail.
    public var members: [String]
    /// When the current secret was set: the age of a static key, the start of a token's grant.
    public var secretSetAt: Date?
    /// The last check of the credential against the integration's probe URL.
    public var probe: ProbeResult?

    public init(
        id: String, integrationID: String, scope: IdentityScope, subject: String,
        credential: CredentialKind, grant: GrantKind, grantedScopes: [String] = [],
        accessFingerprint: String? = nil, refreshFingerprint: String? = nil, issuedAt: Date? = nil,
        expiresAt: Date? = nil, lastRefreshAt: Date? = nil, failures: Int = 0, lastError: ProviderError? = nil,
        retryAt: Date? = nil, reauthReason: String? = nil, revokedAt: Date? = nil, revokedAtProvider: Bool = false,
        createdAt: Date, parentID: String? = nil, workspace: String? = nil, members: [String] = [],
        secretSetAt: Date? = nil, probe: ProbeResult? = nil, expiryAssumed: Bool = false
    ) {
        self.id = id
        self.integrationID = integrationID
        self.scope = scope
        self.subject = subject
        self.credential = credential
        self.grant = grant
        self.grantedScopes = grantedScopes
        self.accessFingerprint = accessFingerprint
        self.refreshFingerprint = refreshFingerprint
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.expiryAssumed = expiryAssumed
        self.lastRefreshAt = lastRefreshAt
        self.failures = failures
        self.lastError = lastError
        self.retryAt = retryAt
        self.reauthReason = reauthReason
        self.revokedAt = revokedAt
        self.revokedAtProvider = revokedAtProvider
        self.createdAt = createdAt
        self.parentID = parentID
        self.workspace = workspace
        self.members = members
        self.secretSetAt = secretSetAt
        self.probe = probe
    }

    /// Whether something other than a human can renew this credential.
    public var isRenewable: Bool {
        credential.expires && grant != .none && (grant != .refreshToken || refreshFingerprint != nil)
    }

    /// When its access token runs out, for "valid until …": `2026-12-04T15:22:22Z`, `about …` when the provider
    /// gave no expiry and one was assumed, `it expires` when none is known.
    public var accessExpiryText: String {
        guard let expiresAt else { return "it expires" }
        return (expiryAssumed ? "about " : "") + RFC3339.string(from: expiresAt)
    }

    /// What revoking it here only leaves working at the provider, and until when, for a warning: the access token
    /// until its expiry, a refresh token until the provider ends it, a static key until someone revokes it there.
    public var leftValidAtProvider: String {
        guard credential.expires else { return "the key stays valid at the provider until someone revokes it there" }
        let access = "the access token stays valid at the provider until \(accessExpiryText)"
        return refreshFingerprint == nil ? access : access + ", and the refresh token until the provider ends it"
    }

    /// What revoking it here only leaves at the provider: a token lives until it expires, a static key until someone
    /// revokes it there.
    public var validAtProviderAfterLocalRevoke: String {
        credential.expires
            ? "the token stays valid at the provider until it expires"
            : "the key stays valid at the provider until someone revokes it there"
    }
}
