import Foundation

/// Integrations and connections to import into a ``Store``, with their secrets.
///
/// ``ImportFile/parse(_:source:)`` builds one from an import file; the demo and tests may build one in code.
/// ``Store/importBundle(_:at:waiting:)`` writes a bundle in one transaction, replacing entries whose ids already exist.
public struct ImportBundle: Sendable, Equatable {
    /// One integration and its client secret.
    public struct IntegrationEntry: Sendable, Equatable {
        /// The integration; its `secretFingerprint` is ignored and recomputed from `clientSecret`.
        public var integration: Integration
        /// The client secret, sealed by the store; nil for a public client.
        public var clientSecret: Secret?

        /// Creates an entry for `integration` with an optional client secret.
        public init(integration: Integration, clientSecret: Secret? = nil) {
            self.integration = integration
            self.clientSecret = clientSecret
        }
    }

    /// One connection and its tokens.
    public struct ConnectionEntry: Sendable, Equatable {
        /// The connection's id, unique in the store.
        public var id: String
        /// The id of its integration, in the bundle or already in the store.
        public var integrationID: String
        /// Whose identity the credential uses.
        public var scope: IdentityScope
        /// Who the credential stands for.
        public var subject: String
        /// The kind of secret.
        public var credential: CredentialKind
        /// How the credential is renewed without a human.
        public var grant: GrantKind
        /// The access token, or the key itself for API keys, basic auth and bot tokens.
        public var accessToken: Secret?
        /// The refresh token, for `oauth2` credentials that have one.
        public var refreshToken: Secret?
        /// When the access token expires, if known as a moment.
        public var expiresAt: Date?
        /// The access token's remaining lifetime in seconds, counted from the moment of the import.
        public var expiresIn: Double?
        /// Scopes the provider granted with the access token.
        public var grantedScopes: [String]
        /// The connection whose token this one is derived from, in the bundle or already in the store.
        public var parentID: String?
        /// The project, team or workspace that owns the credential.
        public var workspace: String?
        /// Who shares the credential.
        public var members: [String]
        /// When the secret was set; nil means the moment of the import.
        public var secretSetAt: Date?
        /// Whether `id` was made from the integration and the subject rather than given: such an id may replace
        /// only the same identity, never another connection that happens to hold that name.
        public var idDerived: Bool

        /// Creates an entry; `expiresAt` wins over `expiresIn` when both are given.
        public init(
            id: String, integrationID: String, scope: IdentityScope, subject: String,
            credential: CredentialKind = .oauth2, grant: GrantKind, accessToken: Secret?, refreshToken: Secret? = nil,
            expiresAt: Date? = nil, expiresIn: Double? = nil, grantedScopes: [String] = [], parentID: String? = nil,
            workspace: String? = nil, members: [String] = [], secretSetAt: Date? = nil, idDerived: Bool = false
        ) {
            self.id = id
            self.integrationID = integrationID
            self.scope = scope
            self.subject = subject
            self.credential = credential
            self.grant = grant
            self.accessToken = accessToken
            self.refreshToken = refreshToken
            self.expiresAt = expiresAt
            self.expiresIn = expiresIn
            self.grantedScopes = grantedScopes
            self.parentID = parentID
            self.workspace = workspace
            self.members = members
            self.secretSetAt = secretSetAt
            self.idDerived = idDerived
        }

        /// The expiry this entry gives its access token when imported at `now`.
        public func expiry(importedAt now: Date) -> Date? {
            expiresAt ?? expiresIn.map { now.addingTimeInterval($0) }
        }
    }

    /// Where the bundle came from, as error messages and history entries name it (usually the file name).
    public var source: String
    /// Integrations to add or replace, written before the connections.
    public var integrations: [IntegrationEntry]
    /// Connections to add or replace, in file order.
    public var connections: [ConnectionEntry]

    /// Creates a bundle from `source`.
    public init(source: String, integrations: [IntegrationEntry] = [], connections: [ConnectionEntry] = []) {
        self.source = source
        self.integrations = integrations
        self.connections = connections
    }

    /// How errors name the connection at `index`: `connections[3] (id "acme-alice")`.
    func connectionLabel(_ index: Int) -> String {
        "connections[\(index)] (id \(ImportError.quoted(connections[index].id)))"
    }
}
