/// The kind of secret a connection holds.
public enum CredentialKind: String, CaseIterable, Codable, Sendable {
    case oauth2
    case apiKey = "api_key"
    case basic
    case appKey = "app_key"
    case botToken = "bot_token"

    /// Whether the credential has an expiry that something must renew.
    public var expires: Bool { self == .oauth2 }

    /// The kind as a message names it, with its article: `an api_key`, `a basic`.
    public var withArticle: String { "aeiou".contains(rawValue.first ?? "x") ? "an \(rawValue)" : "a \(rawValue)" }
}

/// How a connection's credential is renewed without a human.
public enum GrantKind: String, CaseIterable, Codable, Sendable {
    case refreshToken = "refresh_token"
    case clientCredentials = "client_credentials"
    case jwtBearer = "jwt_bearer"
    case onBehalfOf = "on_behalf_of"
    case tokenExchange = "token_exchange"
    case githubAppInstallation = "github_app_installation"
    case none
}

/// How a client authenticates itself at a provider's token and revocation endpoints (RFC 6749 §2.3).
public enum ClientAuthMethod: String, CaseIterable, Codable, Sendable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    /// A JWT signed with the integration's private key (RFC 7523 §2.2, OpenID Connect's `private_key_jwt`).
    case privateKeyJWT = "private_key_jwt"
    case none
}
