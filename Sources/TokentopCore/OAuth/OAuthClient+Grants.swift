import Foundation

/// The delegated and bot grants: JWT bearer, on-behalf-of, token exchange, and GitHub App installation tokens.
///
/// Each grant has a request builder (internal, so tests read the exact request) and a sender that returns the
/// provider's answer as a ``TokenGrant`` or a classified ``ProviderError``, as `refresh` does.
extension OAuthClient {
    /// The grant type of RFC 7523 §2.1, which Microsoft's on-behalf-of flow reuses.
    public static let jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    /// The grant type of RFC 8693 token exchange.
    public static let tokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    /// RFC 8693 §3's type for an OAuth 2.0 access token, the usual subject token.
    public static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"
    /// The longest lifetime of a JWT bearer assertion, in seconds; Google refuses anything longer.
    public static let maximumAssertionLifetime: Double = 3600
    /// GitHub's REST API; GitHub Enterprise Server uses `https://HOST/api/v3`.
    public static let githubAPIBase = URL(string: "https://api.github.com")!
    /// GitHub's API version the installation-token request is written against.
    static let githubAPIVersion = "2022-11-28"
    /// How long GitHub's installation tokens live, used when an answer does not say (GitHub documents one hour).
    static let githubTokenLifetime: Double = 3600

    // MARK: - JWT bearer (RFC 7523 §2.1, Google domain-wide delegation)

    /// Mints a token for `subject` with a signed JWT bearer assertion (RFC 7523 §2.1), in the shape of Google's
    /// domain-wide delegation.
    /// - Parameters:
    ///   - integration: the token URL is both the request's target and the assertion's `aud`; its scopes are
    ///     asked for unless `scopes` says otherwise.
    ///   - key: the service account's private key (Google accepts RS256 only).
    ///   - issuer: the `iss` claim: the service account's e-mail address.
    ///   - subject: the `sub` claim: the user to impersonate; nil acts as the service account itself.
    ///   - scopes: the `scope` claim; nil means the integration's scopes.
    ///   - keyID: the `kid` header: Google's `private_key_id`, when known.
    ///   - lifetime: seconds from `now` to `exp`; at most ``maximumAssertionLifetime``.
    ///   - clientSecret: used only when the integration authenticates the client as well (`clientAuth` not `none`).
    ///   - now: the clock's time, the assertion's `iat`.
    public func jwtBearer(
        integration: Integration, key: SigningKey, issuer: String, subject: String?, scopes: [String]? = nil,
        keyID: String? = nil, lifetime: Double = OAuthClient.maximumAssertionLifetime, clientSecret: Secret? = nil,
        now: Date
    ) async -> Result<TokenGrant, ProviderError> {
        do {
            let request = try jwtBearerRequest(
                integration: integration, key: key, issuer: issuer, subject: subject, scopes: scopes, keyID: keyID,
                lifetime: lifetime, clientSecret: clientSecret, now: now)
            return await tokenAnswer(request)
        } catch {
            return .failure(error)
        }
    }

    /// The request ``jwtBearer(integration:key:issuer:subject:scopes:keyID:lifetime:clientSecret:now:)`` sends.
    func jwtBearerRequest(
        integration: Integration, key: SigningKey, issuer: String, subject: String?, scopes: [String]? = nil,
        keyID: String? = nil, lifetime: Double = OAuthClient.maximumAssertionLifetime, clientSecret: Secret? = nil,
        now: Date
    ) throws(ProviderError) -> HTTPRequest {
        let issuedAt = JWT.numericDate(now)
        let seconds = Int(min(max(lifetime, 1), Self.maximumAssertionLifetime).rounded(.down))
        var claims: JWT.Members = [("iss", .string(issuer))]
        if let subject { claims.append(("sub", .string(subject))) }
        let scope = (scopes ?? integration.scopes).joined(separator: " ")
        if !scope.isEmpty { claims.append(("scope", .string(scope))) }
        claims += [
            ("aud", .string(integration.tokenURL.absoluteString)), ("iat", .integer(issuedAt)),
            ("exp", .integer(issuedAt + seconds)),
        ]
        let assertion = try Self.signAssertion(claims, key: key, keyID: keyID)
        let fields = [("grant_type", Self.jwtBearerGrantType), ("assertion", assertion)]
        // Google's request is exactly these two fields: the signed assertion is the client's authentication, and
        // makeRequest would add a client_id even for `none`. Other servers may want the client authenticated too.
        guard integration.clientAuth != .none else {
            return HTTPRequest(
                method: "POST", url: integration.tokenURL,
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
                body: FormEncoding.encode(fields))
        }
        // A key integration keeps its PEM where others keep the client secret: makeRequest never puts it on the
        // wire as one.
        return try makeRequest(
            url: integration.tokenURL, integration: integration, clientSecret: clientSecret, fields: fields)
    }

    // MARK: - On-behalf-of (Microsoft identity platform)

    /// Exchanges an upstream user's access token for one to a downstream API, in Microsoft's on-behalf-of shape.
    /// - Parameters:
    ///   - integration: the middle-tier app; authenticates with its client secret as configured.
    ///   - clientSecret: the middle-tier app's client secret.
    ///   - assertion: the access token the user's client sent to the middle tier.
    ///   - scopes: the downstream scopes, for example `https://graph.microsoft.com/.default`; nil means the
    ///     integration's scopes.
    public func onBehalfOf(
        integration: Integration, clientSecret: Secret?, assertion: Secret, scopes: [String]? = nil
    ) async -> Result<TokenGrant, ProviderError> {
        do {
            return await tokenAnswer(
                try onBehalfOfRequest(
                    integration: integration, clientSecret: clientSecret, assertion: assertion, scopes: scopes),
                sent: [assertion, clientSecret])
        } catch {
            return .failure(error)
        }
    }

    // FIXME: Microsoft's certificate credentials want the certificate's thumbprint (`x5t#S256`) in the client
    // assertion's header; private_key_jwt signs with the key alone, which servers that know the key take.
    /// The request ``onBehalfOf(integration:clientSecret:assertion:scopes:)`` sends.
    func onBehalfOfRequest(
        integration: Integration, clientSecret: Secret?, assertion: Secret, scopes: [String]? = nil
    ) throws(ProviderError) -> HTTPRequest {
        var fields = [("grant_type", Self.jwtBearerGrantType), ("assertion", assertion.value)]
        let scope = (scopes ?? integration.scopes).joined(separator: " ")
        if !scope.isEmpty { fields.append(("scope", scope)) }
        fields.append(("requested_token_use", "on_behalf_of"))
        return try makeRequest(
            url: integration.tokenURL, integration: integration, clientSecret: clientSecret, fields: fields)
    }

    // MARK: - Token exchange (RFC 8693)

    /// Exchanges a subject token (and optionally an actor token) for a new token (RFC 8693 §2.1).
    /// - Parameters:
    ///   - integration: the client; authenticates with its client secret as configured.
    ///   - clientSecret: the client's secret.
    ///   - subjectToken: the token that stands for the party on whose behalf the request is made.
    ///   - subjectTokenType: its type URI; an access token unless said otherwise.
    ///   - actorToken: the token of the party that acts, for delegation; nil for impersonation.
    ///   - actorTokenType: its type URI; an access token unless said otherwise. Sent only with `actorToken`.
    ///   - audiences: `audience` parameters, logical names of the target services.
    ///   - resources: `resource` parameters, URIs of the target services.
    ///   - scopes: nil means the integration's scopes; an empty array sends none.
    ///   - requestedTokenType: the type URI of the token wanted, when it matters.
    public func tokenExchange(
        integration: Integration, clientSecret: Secret?, subjectToken: Secret,
        subjectTokenType: String = OAuthClient.accessTokenType, actorToken: Secret? = nil,
        actorTokenType: String? = nil, audiences: [String] = [], resources: [String] = [], scopes: [String]? = nil,
        requestedTokenType: String? = nil
    ) async -> Result<TokenGrant, ProviderError> {
        do {
            return await tokenAnswer(
                try tokenExchangeRequest(
                    integration: integration, clientSecret: clientSecret, subjectToken: subjectToken,
                    subjectTokenType: subjectTokenType, actorToken: actorToken, actorTokenType: actorTokenType,
                    audiences: audiences, resources: resources, scopes: scopes,
                    requestedTokenType: requestedTokenType),
                sent: [subjectToken, actorToken, clientSecret])
        } catch {
            return .failure(error)
        }
    }

    /// The request `tokenExchange` sends.
    func tokenExchangeRequest(
        integration: Integration, clientSecret: Secret?, subjectToken: Secret,
        subjectTokenType: String = OAuthClient.accessTokenType, actorToken: Secret? = nil,
        actorTokenType: String? = nil, audiences: [String] = [], resources: [String] = [], scopes: [String]? = nil,
        requestedTokenType: String? = nil
    ) throws(ProviderError) -> HTTPRequest {
        var fields = [
            ("grant_type", Self.tokenExchangeGrantType), ("subject_token", subjectToken.value),
            ("subject_token_type", subjectTokenType),
        ]
        // RFC 8693 §2.1: actor_token_type is required with an actor token and forbidden without one.
        if let actorToken {
            fields.append(("actor_token", actorToken.value))
            fields.append(("actor_token_type", actorTokenType ?? Self.accessTokenType))
        }
        // Both may repeat (RFC 8693 §2.1), one parameter per value.
        fields += resources.map { ("resource", $0) }
        fields += audiences.map { ("audience", $0) }
        let scope = (scopes ?? integration.scopes).joined(separator: " ")
        if !scope.isEmpty { fields.append(("scope", scope)) }
        if let requestedTokenType { fields.append(("requested_token_type", requestedTokenType)) }
        return try makeRequest(
            url: integration.tokenURL, integration: integration, clientSecret: clientSecret, fields: fields)
    }

    // MARK: - GitHub App installation token

    /// Mints an installation access token for a GitHub App: an app JWT (RS256, `iat` 60 s in the past, `exp` nine
    /// minutes ahead) buys a one-hour token at `POST /app/installations/{id}/access_tokens`.
    /// - Parameters:
    ///   - appID: the JWT's `iss`: the app's id or its client id.
    ///   - installationID: the installation's numeric id.
    ///   - key: the app's private key, RSA.
    ///   - apiBase: the REST API's root.
    ///   - now: the clock's time; the JWT's times and the token's lifetime are counted from it.
    /// - Returns: the token, its lifetime from `now`, and its permissions as scopes such as `contents:read`; a 404
    ///   is an `invalid_grant`-kind failure, because the app was uninstalled and only a human can install it again.
    public func githubAppInstallationToken(
        appID: String, installationID: String, key: SigningKey, apiBase: URL = OAuthClient.githubAPIBase, now: Date
    ) async -> Result<TokenGrant, ProviderError> {
        let request: HTTPRequest
        do {
            request = try githubInstallationTokenRequest(
                appID: appID, installationID: installationID, key: key, apiBase: apiBase, now: now)
        } catch {
            return .failure(error)
        }
        switch await send(request) {
        case .failure(let error): return .failure(error)
        case .success(let response): return Self.parseInstallationToken(response, now: now)
        }
    }

    /// The request ``githubAppInstallationToken(appID:installationID:key:apiBase:now:)`` sends.
    func githubInstallationTokenRequest(
        appID: String, installationID: String, key: SigningKey, apiBase: URL = OAuthClient.githubAPIBase, now: Date
    ) throws(ProviderError) -> HTTPRequest {
        guard key.algorithm == .rs256 else {
            throw ProviderError(
                kind: .configuration, error: "invalid_signing_key",
                errorDescription: "\(key.label): GitHub signs app JWTs with RS256 only, and this is an "
                    + "\(key.algorithm.rawValue) key; use the RSA private key GitHub generated for the app")
        }
        // Only digits may go into the path, so an id read from a file cannot point the request anywhere else.
        guard !installationID.isEmpty, installationID.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw ProviderError(
                kind: .configuration, error: "invalid_installation_id",
                errorDescription: "a GitHub App installation id is a number, not \(JWT.quote(installationID))")
        }
        var base = apiBase.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: "\(base)/app/installations/\(installationID)/access_tokens") else {
            throw ProviderError(
                kind: .configuration, error: "invalid_api_base", errorDescription: "\(base) is not a usable URL")
        }
        // GitHub rejects an `iat` in its future; 60 s back absorbs clock drift, and exp - iat stays at 10 minutes.
        let issuedAt = JWT.numericDate(now) - 60
        let claims: JWT.Members = [
            ("iat", .integer(issuedAt)), ("exp", .integer(issuedAt + 600)), ("iss", .string(appID)),
        ]
        let jwt = try Self.signAssertion(claims, key: key, keyID: nil)
        return HTTPRequest(
            method: "POST", url: url,
            headers: [
                ("Accept", "application/vnd.github+json"), ("Authorization", "Bearer \(jwt)"),
                ("X-GitHub-Api-Version", Self.githubAPIVersion), ("User-Agent", "tokentop"),
            ])
    }

    /// Turns GitHub's answer to an installation-token request into a grant or a classified failure.
    ///
    /// Success is `{"token": …, "expires_at": ISO 8601, "permissions": {…}}`; failure is
    /// `{"message": …, "documentation_url": …}` with the HTTP status saying what went wrong.
    static func parseInstallationToken(_ response: HTTPResponse, now: Date) -> Result<TokenGrant, ProviderError> {
        let status = response.status
        // Read as a token answer is (RFC 8259 §4: readers differ on a repeated name): which of two values GitHub
        // meant is unknown, so a repeated top-level member is a recorded failure, not one value silently taken.
        let object: JSONObject?
        switch TokenResponseParser.jsonMembers(response.body) {
        case .object(let members): object = members
        case .unreadable: object = nil
        case .repeated(let name):
            // A redirect's body is no answer: the redirect is what to report.
            guard (300..<400).contains(status) else {
                let retryAfter = response.headers["retry-after"].flatMap(TokenResponseParser.parseRetryAfter)
                return .failure(TokenResponseParser.repeatedMember(name, status: status, retryAfter: retryAfter))
            }
            object = nil
        }
        if (200..<300).contains(status) {
            guard let token = object?["token"]?.string, !token.isEmpty else {
                return .failure(malformedGitHubAnswer(response, why: "the answer has no token"))
            }
            var lifetime = githubTokenLifetime
            if let text = object?["expires_at"]?.string, let expiresAt = parseISO8601(text) {
                lifetime = expiresAt.timeIntervalSince(now)
                guard lifetime > 0 else {
                    // A token that is already over would be due again at once: a loop, not a refresh.
                    return .failure(
                        ProviderError(
                            kind: .configuration, error: "clock_skew",
                            errorDescription: "GitHub says the new token expires at \(text), which is before this "
                                + "machine's clock; check the system clock", status: status))
                }
            }
            var permissions: [String]?
            if case .object(let members)? = object?["permissions"] {
                permissions = members.keys.compactMap { name in members[name]?.string.map { "\(name):\($0)" } }
                    .sorted()
            }
            return .success(
                TokenGrant(accessToken: Secret(token), expiresIn: lifetime, scopes: permissions, tokenType: "Bearer"))
        }
        return .failure(githubFailure(response, object: object, now: now))
    }

    private static func githubFailure(_ response: HTTPResponse, object: JSONObject?, now: Date) -> ProviderError {
        let status = response.status
        let message = object?["message"]?.string
        var said = message.map { "GitHub: \($0)" } ?? "GitHub answered HTTP \(status)"
        if let docs = object?["documentation_url"]?.string { said += "; see \(docs)" }
        let headers = response.headers
        var retryAfter = headers["retry-after"].flatMap(TokenResponseParser.parseRetryAfter)
        let rateLimited = headers["x-ratelimit-remaining"] == "0" || retryAfter != nil
        if rateLimited, retryAfter == nil, let reset = headers["x-ratelimit-reset"].flatMap(Double.init) {
            retryAfter = max(0, reset - now.timeIntervalSince1970)
        }
        func failure(_ kind: ProviderError.Kind, _ code: String, _ why: String) -> ProviderError {
            ProviderError(
                kind: kind, error: code, errorDescription: "\(why) (\(said))", status: status, retryAfter: retryAfter)
        }
        switch status {
        case 401:
            return failure(
                .configuration, "invalid_client",
                "the app JWT was refused: check the app id, the private key and this machine's clock")
        case 404:
            return failure(
                .invalidGrant, "installation_gone",
                "installation gone: app uninstalled, or the installation id is wrong; reinstall the app")
        case 403 where rateLimited, 429:
            return failure(.transient, "rate_limited", "GitHub's rate limit was reached")
        case 403 where message?.lowercased().contains("suspended") == true:
            return failure(
                .invalidGrant, "installation_suspended",
                "installation suspended: an owner of the account must unsuspend the app")
        case 403:
            return failure(.configuration, "forbidden", "GitHub refused the app access to this installation")
        case 422:
            return failure(
                .configuration, "validation_failed", "GitHub could not grant the requested repositories or permissions")
        case 500...:
            return failure(.transient, "server_error", "GitHub is unavailable; retrying later")
        default:
            if message != nil { return failure(.configuration, "unexpected_status", "GitHub answered HTTP \(status)") }
            return malformedGitHubAnswer(response, why: "the answer is not GitHub's JSON")
        }
    }

    private static func malformedGitHubAnswer(_ response: HTTPResponse, why: String) -> ProviderError {
        ProviderError(
            kind: .malformed, error: "malformed_response", errorDescription: why, status: response.status,
            bodyPrefix: TokenResponseParser.bodyPrefix(response.body))
    }

    /// An RFC 3339 time as GitHub writes it, with or without fractional seconds, read as an import file's is.
    static func parseISO8601(_ text: String) -> Date? { ImportFieldReader.parseRFC3339(text) }

    // MARK: - Sending

    static func signAssertion(
        _ claims: JWT.Members, key: SigningKey, keyID: String?
    ) throws(ProviderError) -> String {
        do {
            return try JWT.sign(claims: claims, key: key, keyID: keyID)
        } catch {
            throw ProviderError(kind: .configuration, error: "invalid_signing_key", errorDescription: error.message)
        }
    }

    /// Sends a token request and parses the answer; `sent` are the secrets it carried, which a provider that quotes
    /// them back must not get into an error.
    private func tokenAnswer(_ request: HTTPRequest, sent: [Secret?] = []) async -> Result<TokenGrant, ProviderError> {
        switch await send(request) {
        case .failure(let error): return .failure(error)
        case .success(let response):
            return TokenResponseParser.parse(response, now: clock.now()).mapError {
                $0.redacting(sent + [Self.clientAssertion(in: request)])
            }
        }
    }
}
