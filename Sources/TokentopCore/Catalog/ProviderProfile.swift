import Foundation

/// What a provider's own documentation says about its authorization server: endpoints, client authentication,
/// refresh-token habits, lifetimes and quirks.
///
/// Every optional fact is nil when the provider does not document it; ``notes`` then says so. URLs are templates:
/// a `{name}` segment, such as `{tenant}` or `{yourOktaDomain}`, stands for a value of the customer's (see
/// ``url(_:values:)``).
public struct ProviderProfile: Sendable, Equatable, Identifiable {
    /// A way to obtain or renew a token without a human, as the catalog names it.
    public enum Grant: String, CaseIterable, Sendable {
        case refreshToken = "refresh_token"
        case clientCredentials = "client_credentials"
        case jwtBearer = "jwt_bearer"
        case onBehalfOf = "on_behalf_of"
        case tokenExchange = "token_exchange"
        case githubAppInstallation = "github_app_installation"
        case deviceCode = "device_code"
    }

    /// Ways a provider departs from RFC 6749 that a client must know about.
    public struct Quirks: Sendable, Equatable {
        /// The token endpoint reports errors in a body that comes with HTTP 200.
        public var errorsWithHTTP200: Bool
        /// The token endpoint answers `application/x-www-form-urlencoded` unless asked for JSON with `Accept`.
        public var formEncodedUnlessAcceptJSON: Bool
        /// A short description of an error body that is not RFC 6749 §5.2, or nil.
        public var nonRFCErrorShape: String?

        /// Creates the quirks of one provider.
        public init(errorsWithHTTP200: Bool, formEncodedUnlessAcceptJSON: Bool, nonRFCErrorShape: String?) {
            self.errorsWithHTTP200 = errorsWithHTTP200
            self.formEncodedUnlessAcceptJSON = formEncodedUnlessAcceptJSON
            self.nonRFCErrorShape = nonRFCErrorShape
        }
    }

    /// A short stable slug, such as `github-app`.
    public var id: String
    /// The provider's name for people.
    public var name: String
    /// The token endpoint (template).
    public var tokenURL: String
    /// The RFC 7009 revocation endpoint (template), or nil when none is documented.
    public var revocationURL: String?
    /// The RFC 8628 device authorization endpoint (template), or nil.
    public var deviceAuthorizationURL: String?
    /// The authorization endpoint (template), or nil.
    public var authorizationURL: String?
    /// The documented client authentication methods, the default first; nil when undocumented.
    public var clientAuth: [ClientAuthMethod]?
    /// Whether each refresh returns a new refresh token and retires the old one; nil when undocumented.
    public var refreshTokenRotates: Bool?
    /// Seconds a refresh token survives without use, or nil.
    public var refreshTokenIdleLifetime: Int?
    /// Seconds a refresh token (or its rotation family) survives at most, or nil.
    public var refreshTokenAbsoluteLifetime: Int?
    /// Seconds in which a rotated refresh token may still be replayed, or nil when undocumented.
    public var rotationGrace: Int?
    /// The access-token lifetime to assume when a token response carries no `expires_in`, or nil.
    public var defaultAccessTokenLifetime: Int?
    public var quirks: Quirks
    /// The grants the provider supports besides the authorization code itself.
    public var grants: [Grant]
    /// The identity models the provider's credentials serve.
    public var identityModels: [IdentityScope]
    /// The documentation pages the facts come from.
    public var sources: [URL]
    /// What is undocumented, and anything a fact alone does not say.
    public var notes: String?

    /// Creates a profile; ``ProviderCatalog`` validates profiles it loads.
    public init(
        id: String, name: String, tokenURL: String, revocationURL: String? = nil,
        deviceAuthorizationURL: String? = nil, authorizationURL: String? = nil, clientAuth: [ClientAuthMethod]? = nil,
        refreshTokenRotates: Bool? = nil, refreshTokenIdleLifetime: Int? = nil,
        refreshTokenAbsoluteLifetime: Int? = nil, rotationGrace: Int? = nil, defaultAccessTokenLifetime: Int? = nil,
        quirks: Quirks = Quirks(errorsWithHTTP200: false, formEncodedUnlessAcceptJSON: false, nonRFCErrorShape: nil),
        grants: [Grant] = [], identityModels: [IdentityScope] = [], sources: [URL] = [], notes: String? = nil
    ) {
        self.id = id
        self.name = name
        self.tokenURL = tokenURL
        self.revocationURL = revocationURL
        self.deviceAuthorizationURL = deviceAuthorizationURL
        self.authorizationURL = authorizationURL
        self.clientAuth = clientAuth
        self.refreshTokenRotates = refreshTokenRotates
        self.refreshTokenIdleLifetime = refreshTokenIdleLifetime
        self.refreshTokenAbsoluteLifetime = refreshTokenAbsoluteLifetime
        self.rotationGrace = rotationGrace
        self.defaultAccessTokenLifetime = defaultAccessTokenLifetime
        self.quirks = quirks
        self.grants = grants
        self.identityModels = identityModels
        self.sources = sources
        self.notes = notes
    }

    /// The client authentication method to use when the integration does not choose one.
    public var defaultClientAuth: ClientAuthMethod? { clientAuth?.first }

    /// Whether the catalog records an RFC 7009 revocation endpoint; false means none is documented in the pages
    /// read, not that the provider has none.
    public var hasRevocation: Bool { revocationURL != nil }

    /// Whether the catalog records an RFC 8628 device authorization endpoint; false means none is documented, not
    /// that the provider has none.
    public var hasDeviceAuthorization: Bool { deviceAuthorizationURL != nil }

    /// The names of every `{placeholder}` in the profile's URL templates, sorted, without duplicates.
    public var placeholders: [String] {
        let templates = [tokenURL, revocationURL, deviceAuthorizationURL, authorizationURL].compactMap { $0 }
        return Array(Set(templates.flatMap(Self.placeholders(in:)))).sorted()
    }

    /// Fills a URL template's `{placeholders}` from `values`.
    /// - Returns: the URL, or nil when a placeholder has no value or the result is not an absolute https URL.
    public static func url(_ template: String, values: [String: String] = [:]) -> URL? {
        var text = template
        for name in placeholders(in: template) {
            guard let value = values[name], !value.isEmpty else { return nil }
            text = text.replacingOccurrences(of: "{\(name)}", with: value)
        }
        guard let url = URL(string: text), url.scheme == "https", let host = url.host, !host.isEmpty else { return nil }
        return url
    }

    /// The `{name}` segments of `template`, in order of appearance.
    static func placeholders(in template: String) -> [String] {
        var names: [String] = []
        var rest = template[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }
}
