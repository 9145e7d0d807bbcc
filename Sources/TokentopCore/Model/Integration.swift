import Foundation

/// One registered app at a provider. Many connections share it.
///
/// The client secret is not part of this value; the store keeps it behind ``SecretBox``.
public struct Integration: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    /// The provider's name, for example `github` or `sandbox`.
    public var provider: String
    public var tokenURL: URL
    /// The RFC 7009 revocation endpoint, when the provider has one.
    public var revocationURL: URL?
    public var clientID: String
    public var clientAuth: ClientAuthMethod
    /// Scopes the integration asks for.
    public var scopes: [String]
    public var redirectURI: String?
    /// A fingerprint of the client secret, when there is one.
    public var secretFingerprint: String?
    /// What the integration's sealed secret is: a client secret, or a PEM private key that signs assertions.
    public var secretKind: SecretKind
    /// The authorization endpoint, where a user signs in again (authorization code with PKCE).
    public var authorizationURL: URL?
    /// The RFC 8628 device authorization endpoint; when present, re-auth offers the device flow.
    public var deviceAuthorizationURL: URL?
    /// Where an API key goes in a request; nil means `Authorization: Bearer`.
    public var apiKeyPlacement: APIKeyPlacement?
    /// A URL that answers 2xx to a valid credential, checked on a schedule and on demand.
    public var probeURL: URL?
    /// Seconds between two scheduled probes; nil means the default.
    public var probeInterval: TimeInterval?
    /// RFC 8693 `audience` values a token exchange asks for: logical names of the services the new token is for.
    public var audiences: [String]
    /// RFC 8693 `resource` values (RFC 8707): URIs of the services a token exchange's new token is for.
    public var resources: [String]

    /// The kinds of secret an integration holds.
    public enum SecretKind: String, Codable, Sendable {
        case clientSecret = "client_secret"
        /// A PEM private key: Google's service-account key, a GitHub App's key.
        case privateKey = "private_key"
    }

    public init(
        id: String, provider: String, tokenURL: URL, revocationURL: URL? = nil, clientID: String,
        clientAuth: ClientAuthMethod, scopes: [String] = [], redirectURI: String? = nil,
        secretFingerprint: String? = nil, secretKind: SecretKind = .clientSecret, authorizationURL: URL? = nil,
        deviceAuthorizationURL: URL? = nil, apiKeyPlacement: APIKeyPlacement? = nil, probeURL: URL? = nil,
        probeInterval: TimeInterval? = nil, audiences: [String] = [], resources: [String] = []
    ) {
        self.id = id
        self.provider = provider
        self.tokenURL = tokenURL
        self.revocationURL = revocationURL
        self.clientID = clientID
        self.clientAuth = clientAuth
        self.scopes = scopes
        self.redirectURI = redirectURI
        self.secretFingerprint = secretFingerprint
        self.secretKind = secretKind
        self.authorizationURL = authorizationURL
        self.deviceAuthorizationURL = deviceAuthorizationURL
        self.apiKeyPlacement = apiKeyPlacement
        self.probeURL = probeURL
        self.probeInterval = probeInterval
        self.audiences = audiences
        self.resources = resources
    }
}
