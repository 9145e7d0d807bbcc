import CCrypto
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Speaks RFC 6749 token requests and RFC 7009 revocations to a provider, through an ``HTTPTransport``.
public struct OAuthClient: Sendable {
    let transport: any HTTPTransport
    let clock: any TimeSource

    public init(transport: any HTTPTransport, clock: any TimeSource = SystemTimeSource()) {
        self.transport = transport
        self.clock = clock
    }

    /// Renews an access token with a refresh token (RFC 6749 §6).
    public func refresh(
        integration: Integration, clientSecret: Secret?, refreshToken: Secret
    ) async -> Result<TokenGrant, ProviderError> {
        await tokenRequest(
            integration: integration, clientSecret: clientSecret,
            fields: [("grant_type", "refresh_token"), ("refresh_token", refreshToken.value)])
    }

    /// Mints a new access token for the client itself (RFC 6749 §4.4).
    public func clientCredentials(integration: Integration, clientSecret: Secret?) async -> Result<
        TokenGrant, ProviderError
    > {
        var fields = [("grant_type", "client_credentials")]
        if !integration.scopes.isEmpty { fields.append(("scope", integration.scopes.joined(separator: " "))) }
        return await tokenRequest(integration: integration, clientSecret: clientSecret, fields: fields)
    }

    /// Revokes one token at the integration's revocation endpoint (RFC 7009).
    /// - Parameter hint: `refresh_token` or `access_token`.
    public func revoke(
        integration: Integration, clientSecret: Secret?, token: Secret, hint: String
    ) async -> Result<Void, ProviderError> {
        guard let url = integration.revocationURL else {
            return .failure(ProviderError(kind: .configuration, error: "no_revocation_endpoint"))
        }
        let request: HTTPRequest
        do {
            request = try makeRequest(
                url: url, integration: integration, clientSecret: clientSecret,
                fields: [("token", token.value), ("token_type_hint", hint)])
        } catch {
            return .failure(error)
        }
        switch await send(request) {
        case .failure(let error): return .failure(error)
        case .success(let response):
            // RFC 7009 §2.2: 200 also for a token that was already invalid; 503 means try later.
            if response.status == 200 { return .success(()) }
            if case .failure(let error) = TokenResponseParser.parse(response, now: clock.now()) {
                return .failure(error.redacting([token, clientSecret, Self.clientAssertion(in: request)]))
            }
            return .failure(ProviderError(kind: .malformed, error: "unexpected_status", status: response.status))
        }
    }

    /// One token request; an error answer may quote none of the secrets it was sent.
    func tokenRequest(
        integration: Integration, clientSecret: Secret?, fields: [(String, String)]
    ) async -> Result<TokenGrant, ProviderError> {
        let request: HTTPRequest
        do {
            request = try makeRequest(
                url: integration.tokenURL, integration: integration, clientSecret: clientSecret, fields: fields)
        } catch {
            return .failure(error)
        }
        switch await send(request) {
        case .failure(let error): return .failure(error)
        case .success(let response):
            // A provider may quote what it was sent back in its error; none of it may be stored or shown.
            let secretFields: Set = [
                "refresh_token", "assertion", "subject_token", "actor_token", "code", "code_verifier", "device_code",
            ]
            let sent = fields.filter { secretFields.contains($0.0) }.map { Secret($0.1) }
            return TokenResponseParser.parse(response, now: clock.now()).mapError {
                $0.redacting(sent + [clientSecret, Self.clientAssertion(in: request)])
            }
        }
    }

    /// A form POST with the integration's client authentication (RFC 6749 §2.3.1; RFC 7523 §2.2 for
    /// `private_key_jwt`).
    /// - Throws: a `configuration` ``ProviderError`` when the integration's secret cannot authenticate it as
    ///   configured: a private key is never sent as a client secret, and `private_key_jwt` needs one to sign with.
    func makeRequest(
        url: URL, integration: Integration, clientSecret: Secret?, fields: [(String, String)]
    ) throws(ProviderError) -> HTTPRequest {
        var fields = fields
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
        ]
        let sendsSecret = integration.clientAuth == .clientSecretBasic || integration.clientAuth == .clientSecretPost
        if sendsSecret,
            integration.secretKind == .privateKey || clientSecret?.value.contains("PRIVATE KEY-----") == true
        {
            // An import before this check let a key integration name a secret method: its PEM went out as the
            // client secret.
            throw ProviderError(
                kind: .configuration, error: "private_key_as_client_secret",
                errorDescription: "integration \(integration.id) would send its private key as the client secret; "
                    + "set its client_auth to private_key_jwt (or none) and import it again")
        }
        switch integration.clientAuth {
        case .clientSecretBasic:
            let pair = FormEncoding.escape(integration.clientID) + ":" + FormEncoding.escape(clientSecret?.value ?? "")
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
        case .clientSecretPost:
            fields.append(("client_id", integration.clientID))
            fields.append(("client_secret", clientSecret?.value ?? ""))
        case .privateKeyJWT:
            fields.append(("client_id", integration.clientID))
            fields.append(("client_assertion_type", Self.clientAssertionType))
            fields.append(("client_assertion", try clientAssertion(integration, key: clientSecret)))
        case .none:
            fields.append(("client_id", integration.clientID))
        }
        return HTTPRequest(method: "POST", url: url, headers: headers, body: FormEncoding.encode(fields))
    }

    /// The client assertion `request` carries, if any: valid for minutes, so never kept from an answer that quotes
    /// it. The body is read only for an assertion's request, not on every refresh.
    static func clientAssertion(in request: HTTPRequest) -> Secret? {
        guard request.body.count > 0, String(decoding: request.body, as: UTF8.self).contains("client_assertion=")
        else { return nil }
        return FormEncoding.decode(request.body)["client_assertion"].map(Secret.init)
    }

    /// `client_assertion_type` of a JWT that authenticates the client (RFC 7523 §2.2).
    static let clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    /// How long a client assertion is valid: long enough for a slow request, short for a replay.
    static let clientAssertionLifetime = 300

    /// A JWT signed with the integration's private key that authenticates it as the client (RFC 7523 §3, OpenID
    /// Connect Core §9 `private_key_jwt`): `iss` and `sub` the client id, `aud` the token endpoint, a `jti` of its
    /// own, valid for ``clientAssertionLifetime`` seconds. The token endpoint is the audience for a revocation as
    /// well, as RFC 7523 §3 allows and servers that check one audience (Authlib's) want.
    func clientAssertion(_ integration: Integration, key pem: Secret?) throws(ProviderError) -> String {
        guard integration.secretKind == .privateKey, let pem else {
            throw ProviderError(
                kind: .configuration, error: "no_private_key",
                errorDescription: "integration \(integration.id) authenticates with private_key_jwt but holds no "
                    + "private key; import it with private_key_file")
        }
        let key = try Self.assertionKey(pem, integration: integration)
        var nonce = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&nonce, Int32(nonce.count)) == 1 else {
            throw ProviderError(
                kind: .configuration, error: "random_failed",
                errorDescription: "the system's random number generator failed; no client assertion was made")
        }
        let issuedAt = JWT.numericDate(clock.now())
        let claims: JWT.Members = [
            ("iss", .string(integration.clientID)), ("sub", .string(integration.clientID)),
            ("aud", .string(integration.tokenURL.absoluteString)), ("jti", .string(JWT.base64URL(nonce))),
            ("iat", .integer(issuedAt)), ("exp", .integer(issuedAt + Self.clientAssertionLifetime)),
        ]
        return try Self.signAssertion(claims, key: key, keyID: nil)
    }

    /// Keys read for client assertions, by a digest of their PEM: read and checked once, not at every request.
    private static let assertionKeys = Mutex<[String: SigningKey]>([:])

    private static func assertionKey(_ pem: Secret, integration: Integration) throws(ProviderError) -> SigningKey {
        let digest = SHA256Digest.hex(of: Data(pem.value.utf8))
        if let key = assertionKeys.withLock({ $0[digest] }) { return key }
        do {
            let key = try SigningKey(pem: pem.value, label: "the private key of integration \(integration.id)")
            assertionKeys.withLock { $0[digest] = key }
            return key
        } catch {
            throw ProviderError(kind: .configuration, error: "invalid_signing_key", errorDescription: error.message)
        }
    }

    /// Sends `request`; a request that got no answer becomes a transient ``ProviderError``.
    func send(_ request: HTTPRequest) async -> Result<HTTPResponse, ProviderError> {
        do {
            return .success(try await transport.send(request))
        } catch {
            return .failure(Self.networkError(error, url: request.url))
        }
    }

    /// Where OpenSSL found no authority it trusts for the certificate (one of a private CA, or self-signed), what
    /// helps, or that the ca_file in force did not; nothing for a name or a date that is wrong, which trusting a CA
    /// does not mend.
    /// - Parameter caFile: the file of authorities the request trusted besides the system's, if any.
    static func privateAuthorityHint(_ detail: String, caFile: String? = nil) -> String {
        let unknownIssuer = ["unable to get local issuer certificate", "self-signed certificate", "self signed"]
        guard unknownIssuer.contains(where: { detail.contains($0) }) else { return "" }
        guard let caFile else { return "; a private CA is trusted with ca_file" }
        return "; no authority of the system's or of ca_file \(caFile) issued it"
    }

    /// The key of a `URLError`'s user info that names the ca_file its request trusted.
    static let caFileKey = "TokentopCAFile"

    /// The key of a `URLError`'s user info that says whether its request went out (a `Bool`), where the transport
    /// knows: libcurl's does, from the moment it hands the request to the connection.
    static let sentKey = "TokentopRequestSent"

    /// What `URLError` codes say of a request whose transport does not tell: a host that does not resolve, a
    /// connection refused, or a TLS handshake that failed come before the request is sent.
    private static let unsentCodes: Set<URLError.Code> = [
        .cannotFindHost, .dnsLookupFailed, .cannotConnectToHost, .notConnectedToInternet, .secureConnectionFailed,
        .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
        .serverCertificateHasUnknownRoot,
    ]

    /// A request that got no answer: always transient. One that never went out says so, since the provider cannot
    /// have acted on it (nor rotated a refresh token in an answer that was lost).
    /// - Parameter url: the request's URL, whose host and port name where a connection failed.
    static func networkError(_ error: any Error, url: URL? = nil) -> ProviderError {
        if let urlError = error as? URLError, urlError.code == .dataLengthExceedsMaximum {
            // Not a network fault: the provider sent more than any token answer needs.
            return ProviderError(
                kind: .malformed, error: "answer_too_large",
                errorDescription: "the answer was larger than tokentop reads (4 MiB); it was not parsed")
        }
        guard let urlError = error as? URLError else {
            return ProviderError(
                kind: .transient, error: ProviderError.networkErrorCode,
                errorDescription: String(describing: type(of: error)))
        }
        let sent = urlError.userInfo[sentKey] as? Bool ?? !unsentCodes.contains(urlError.code)
        let detail = (urlError.userInfo[NSLocalizedDescriptionKey] as? String).map { " (\($0))" } ?? ""
        // The token URL's host, named only where the transport's own words name it too or there are none: libcurl's
        // name the host it tried, which is the proxy's when one is in the way.
        let host = url.flatMap(\.host).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) }
            .flatMap { detail.isEmpty || detail.contains($0) ? $0 : nil }
        let bracketed = host.map { $0.contains(":") ? "[\($0)]" : $0 }
        let place = bracketed.map { host in url?.port.map { "\(host):\($0)" } ?? host }
        var description =
            switch urlError.code {
            case .unsupportedURL: "the answer was not HTTP, or the URL is not http(s)\(detail)"
            case .serverCertificateUntrusted:
                "the provider's TLS certificate is not trusted\(detail)"
                    + Self.privateAuthorityHint(detail, caFile: urlError.userInfo[Self.caFileKey] as? String)
            case .secureConnectionFailed: "the TLS handshake with the provider failed\(detail)"
            case .timedOut where !sent: "no connection\(place.map { " to \($0)" } ?? "") before the timeout\(detail)"
            case .timedOut: "no answer before the timeout"
            case .cannotConnectToHost:
                "could not connect to \(place ?? (detail.isEmpty ? "the provider" : "a host"))\(detail)"
            case .cannotFindHost, .dnsLookupFailed:
                "could not resolve \(bracketed ?? (detail.isEmpty ? "the provider's host" : "a host"))\(detail)"
            case .networkConnectionLost: "the connection was lost before the answer arrived"
            case .notConnectedToInternet: "no network"
            case .badServerResponse where !sent, .unknown where !sent: "the connection failed\(detail)"
            case .badServerResponse, .unknown:
                "the connection failed before a complete answer arrived"
            default: "network error (URLError \(urlError.code.rawValue))\(detail)"
            }
        if !sent { description += "; the request was not sent" }
        return ProviderError(
            kind: .transient, error: ProviderError.networkErrorCode, errorDescription: description,
            requestSent: sent ? nil : false)
    }
}
