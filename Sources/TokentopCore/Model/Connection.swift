import Foundation

/// One credential under an integration, bound to an identity model and a subject.
///
/// A `Connection` holds only facts that are safe to show: the secrets themselves stay in the store and are read
/// through ``SecretBox`` when a refresh or a revocation needs them.
public struct Connection: Codable, Sendable, Equatable, Identifiable {
    /// The stored facts, each as the property of the same name below.
    struct Fields: Codable, Equatable, Sendable {
        var id: String
        var integrationID: String
        var scope: IdentityScope
        var subject: String
        var credential: CredentialKind
        var grant: GrantKind
        var grantedScopes: [String]
        var accessFingerprint: String?
        var refreshFingerprint: String?
        var issuedAt: Date?
        var expiresAt: Date?
        var expiryAssumed: Bool
        var lastRefreshAt: Date?
        var failures: Int
        var lastError: ProviderError?
        var retryAt: Date?
        var reauthReason: String?
        var revokedAt: Date?
        var revokedAtProvider: Bool
        var createdAt: Date
        var parentID: String?
        var workspace: String?
        var members: [String]
        var secretSetAt: Date?
        var probe: ProbeResult?
    }

    /// The facts behind one reference, copied on the first write to a shared one, as an array's elements are.
    ///
    /// Snapshots, row lists, sorts and tallies copy connections by the hundred thousand: a copy retains one object
    /// here, where the facts themselves held a dozen strings and arrays to retain (a quarter of the dashboard's cold
    /// start at 100,000 connections went to copying and freeing them).
    private final class Box: @unchecked Sendable {
        // Unchecked: `fields` is written only through `update`, on a box no other connection holds.
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// Changes the facts, after copying them when another connection shares this one's box.
    private mutating func update(_ change: (inout Fields) -> Void) {
        if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
        change(&box.fields)
    }

    public var id: String {
        get { box.fields.id }
        set { update { $0.id = newValue } }
    }
    public var integrationID: String {
        get { box.fields.integrationID }
        set { update { $0.integrationID = newValue } }
    }
    public var scope: IdentityScope {
        get { box.fields.scope }
        set { update { $0.scope = newValue } }
    }
    /// Who the credential stands for: an e-mail, an org id, a workspace id, an app id.
    public var subject: String {
        get { box.fields.subject }
        set { update { $0.subject = newValue } }
    }
    public var credential: CredentialKind {
        get { box.fields.credential }
        set { update { $0.credential = newValue } }
    }
    public var grant: GrantKind {
        get { box.fields.grant }
        set { update { $0.grant = newValue } }
    }
    /// Scopes the provider granted with the current token.
    public var grantedScopes: [String] {
        get { box.fields.grantedScopes }
        set { update { $0.grantedScopes = newValue } }
    }
    /// A fingerprint of the current access token or key (see ``Secret/fingerprint``); never the secret.
    public var accessFingerprint: String? {
        get { box.fields.accessFingerprint }
        set { update { $0.accessFingerprint = newValue } }
    }
    /// A fingerprint of the current refresh token, when there is one.
    public var refreshFingerprint: String? {
        get { box.fields.refreshFingerprint }
        set { update { $0.refreshFingerprint = newValue } }
    }
    /// When the current access token was obtained; the start of its lifetime.
    public var issuedAt: Date? {
        get { box.fields.issuedAt }
        set { update { $0.issuedAt = newValue } }
    }
    /// When the current access token expires; nil for credentials without expiry.
    public var expiresAt: Date? {
        get { box.fields.expiresAt }
        set { update { $0.expiresAt = newValue } }
    }
    /// Whether ``expiresAt`` is an assumption: the provider's answer gave no expiry, so the catalog's (or the
    /// policy's) default lifetime stands in for it, and the token is renewed on that schedule.
    public var expiryAssumed: Bool {
        get { box.fields.expiryAssumed }
        set { update { $0.expiryAssumed = newValue } }
    }
    public var lastRefreshAt: Date? {
        get { box.fields.lastRefreshAt }
        set { update { $0.lastRefreshAt = newValue } }
    }
    /// Consecutive failed refreshes since the last success.
    public var failures: Int {
        get { box.fields.failures }
        set { update { $0.failures = newValue } }
    }
    public var lastError: ProviderError? {
        get { box.fields.lastError }
        set { update { $0.lastError = newValue } }
    }
    /// The earliest moment of the next retry after a failure.
    public var retryAt: Date? {
        get { box.fields.retryAt }
        set { update { $0.retryAt = newValue } }
    }
    /// Set when the provider refused the grant: why a human must act.
    public var reauthReason: String? {
        get { box.fields.reauthReason }
        set { update { $0.reauthReason = newValue } }
    }
    public var revokedAt: Date? {
        get { box.fields.revokedAt }
        set { update { $0.revokedAt = newValue } }
    }
    /// Whether the revocation reached the provider, or was recorded here only.
    public var revokedAtProvider: Bool {
        get { box.fields.revokedAtProvider }
        set { update { $0.revokedAtProvider = newValue } }
    }
    public var createdAt: Date {
        get { box.fields.createdAt }
        set { update { $0.createdAt = newValue } }
    }
    /// The connection whose token this one is derived from (on-behalf-of, token exchange); nil for a root grant.
    public var parentID: String? {
        get { box.fields.parentID }
        set { update { $0.parentID = newValue } }
    }
    /// The project, team or workspace that owns the credential, when one does.
    public var workspace: String? {
        get { box.fields.workspace }
        set { update { $0.workspace = newValue } }
    }
    /// Who shares the credential: a workspace's members, by name or e-mail.
    public var members: [String] {
        get { box.fields.members }
        set { update { $0.members = newValue } }
    }
    /// When the current secret was set: the age of a static key, the start of a token's grant.
    public var secretSetAt: Date? {
        get { box.fields.secretSetAt }
        set { update { $0.secretSetAt = newValue } }
    }
    /// The last check of the credential against the integration's probe URL.
    public var probe: ProbeResult? {
        get { box.fields.probe }
        set { update { $0.probe = newValue } }
    }

    public init(
        id: String, integrationID: String, scope: IdentityScope, subject: String,
        credential: CredentialKind, grant: GrantKind, grantedScopes: [String] = [],
        accessFingerprint: String? = nil, refreshFingerprint: String? = nil, issuedAt: Date? = nil,
        expiresAt: Date? = nil, lastRefreshAt: Date? = nil, failures: Int = 0, lastError: ProviderError? = nil,
        retryAt: Date? = nil, reauthReason: String? = nil, revokedAt: Date? = nil, revokedAtProvider: Bool = false,
        createdAt: Date, parentID: String? = nil, workspace: String? = nil, members: [String] = [],
        secretSetAt: Date? = nil, probe: ProbeResult? = nil, expiryAssumed: Bool = false
    ) {
        box = Box(
            Fields(
                id: id, integrationID: integrationID, scope: scope, subject: subject, credential: credential,
                grant: grant, grantedScopes: grantedScopes, accessFingerprint: accessFingerprint,
                refreshFingerprint: refreshFingerprint, issuedAt: issuedAt, expiresAt: expiresAt,
                expiryAssumed: expiryAssumed, lastRefreshAt: lastRefreshAt, failures: failures, lastError: lastError,
                retryAt: retryAt, reauthReason: reauthReason, revokedAt: revokedAt,
                revokedAtProvider: revokedAtProvider, createdAt: createdAt, parentID: parentID, workspace: workspace,
                members: members, secretSetAt: secretSetAt, probe: probe))
    }

    public init(from decoder: any Decoder) throws {
        box = Box(try Fields(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try box.fields.encode(to: encoder)
    }

    public static func == (lhs: Connection, rhs: Connection) -> Bool {
        lhs.box === rhs.box || lhs.box.fields == rhs.box.fields
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
