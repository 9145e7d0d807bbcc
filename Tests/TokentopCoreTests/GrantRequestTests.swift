import Foundation
import Synchronization
import Testing

@testable import TokentopCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

struct GrantRequestTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)
    private let client = OAuthClient(transport: CannedTransport(.success(HTTPResponse(status: 500))))

    private let google = Integration(
        id: "umbrella-google", provider: "google", tokenURL: URL(string: "https://oauth2.googleapis.com/token")!,
        clientID: "fake-client-id-0001", clientAuth: .none,
        scopes: ["https://www.googleapis.com/auth/gmail.readonly", "https://www.googleapis.com/auth/calendar"])
    private let microsoft = Integration(
        id: "contoso-graph", provider: "microsoft",
        tokenURL: URL(string: "https://login.microsoftonline.com/fake-tenant/oauth2/v2.0/token")!,
        clientID: "fake-client-id-0002", clientAuth: .clientSecretPost, scopes: ["https://graph.microsoft.com/.default"]
    )
    private let exchanger = Integration(
        id: "sts", provider: "sts", tokenURL: URL(string: "https://sts.example/token")!,
        clientID: "fake-client-id-0003", clientAuth: .clientSecretBasic)
    private let secret = Secret("fake-client-secret-0002")

    private func rsaKey() throws -> SigningKey {
        try SigningKey(pem: TestKey.shared(.rsa2048).privatePEM(.traditional), label: "test RSA key")
    }

    // MARK: - JWT bearer, Google shape

    @Test func jwtBearerRequestHasGoogleShape() throws {
        let request = try client.jwtBearerRequest(
            integration: google, key: try rsaKey(), issuer: "svc@fake-project.iam.gserviceaccount.com",
            subject: "grace@umbrella.example", keyID: "fake-key-id-0001", now: now)
        #expect(request.method == "POST")
        #expect(request.url == google.tokenURL)
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.header("Authorization") == nil)

        let fields = FormEncoding.decode(request.body)
        #expect(Set(fields.keys) == ["grant_type", "assertion"])
        #expect(fields["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer")

        let jwt = try DecodedJWT(try #require(fields["assertion"]))
        #expect(jwt.header["alg"] as? String == "RS256")
        #expect(jwt.header["typ"] as? String == "JWT")
        #expect(jwt.header["kid"] as? String == "fake-key-id-0001")
        #expect(jwt.claims["iss"] as? String == "svc@fake-project.iam.gserviceaccount.com")
        #expect(jwt.claims["sub"] as? String == "grace@umbrella.example")
        #expect(
            jwt.claims["scope"] as? String
                == "https://www.googleapis.com/auth/gmail.readonly https://www.googleapis.com/auth/calendar")
        #expect(jwt.claims["aud"] as? String == "https://oauth2.googleapis.com/token")
        #expect(jwt.int("iat") == 1_800_000_000)
        #expect(jwt.int("exp") == 1_800_003_600)
        #expect(jwt.claims.count == 6)
        #expect(jwt.payloadText.hasPrefix(#"{"iss":"svc@fake-project.iam.gserviceaccount.com","sub":"grace@"#))
        #expect(TestKey.shared(.rsa2048).verify(jwsSignature: jwt.signature, message: jwt.signingInput))
    }

    @Test(arguments: [(7200.0, 3600), (3600, 3600), (600, 600), (0, 1)])
    func jwtBearerLifetimeIsAtMostOneHour(lifetime: Double, seconds: Int) throws {
        let request = try client.jwtBearerRequest(
            integration: google, key: try rsaKey(), issuer: "svc@fake-project.iam.gserviceaccount.com",
            subject: "grace@umbrella.example", lifetime: lifetime, now: now.addingTimeInterval(0.75))
        let jwt = try DecodedJWT(try #require(FormEncoding.decode(request.body)["assertion"]))
        let issuedAt = try #require(jwt.int("iat"))
        #expect(issuedAt == 1_800_000_000)
        #expect(try #require(jwt.int("exp")) - issuedAt == seconds)
    }

    @Test func jwtBearerWithoutSubjectOrScopeLeavesThoseClaimsOut() throws {
        let request = try client.jwtBearerRequest(
            integration: google, key: try rsaKey(), issuer: "svc@fake-project.iam.gserviceaccount.com", subject: nil,
            scopes: [], now: now)
        let jwt = try DecodedJWT(try #require(FormEncoding.decode(request.body)["assertion"]))
        #expect(Set(jwt.claims.keys) == ["iss", "aud", "iat", "exp"])
        #expect(jwt.header["kid"] == nil)
    }

    @Test func jwtBearerAuthenticatesTheClientWhenConfiguredTo() throws {
        var integration = google
        integration.clientAuth = .clientSecretPost
        let request = try client.jwtBearerRequest(
            integration: integration, key: try rsaKey(), issuer: "svc@fake-project.iam.gserviceaccount.com",
            subject: "grace@umbrella.example", clientSecret: secret, now: now)
        let fields = FormEncoding.decode(request.body)
        #expect(Set(fields.keys) == ["grant_type", "assertion", "client_id", "client_secret"])
        #expect(fields["client_id"] == "fake-client-id-0001")
        #expect(fields["client_secret"] == "fake-client-secret-0002")
    }

    @Test func jwtBearerNeverSendsAPrivateKeyAsTheClientSecret() throws {
        var integration = google
        integration.clientAuth = .clientSecretBasic
        let pem = TestKey.shared(.rsa2048).privatePEM(.pkcs8)
        let error = try #require(throws: ProviderError.self) {
            try client.jwtBearerRequest(
                integration: integration, key: try rsaKey(), issuer: "svc@example", subject: nil,
                clientSecret: Secret(pem), now: now)
        }
        #expect(error.kind == .configuration)
        #expect(error.error == "private_key_as_client_secret")
    }

    @Test func jwtBearerSignsWithAnEC256KeyToo() throws {
        let key = try SigningKey(pem: TestKey.shared(.p256).privatePEM(.traditional))
        let request = try client.jwtBearerRequest(
            integration: google, key: key, issuer: "svc@example", subject: nil, now: now)
        let jwt = try DecodedJWT(try #require(FormEncoding.decode(request.body)["assertion"]))
        #expect(jwt.header["alg"] as? String == "ES256")
        #expect(TestKey.shared(.p256).verify(jwsSignature: jwt.signature, message: jwt.signingInput))
    }

    @Test func jwtBearerSendsAndParsesGooglesAnswer() async throws {
        let answer = #"{"access_token":"fake-access-token-0001","expires_in":3599,"token_type":"Bearer"}"#
        let transport = CannedTransport(.success(HTTPResponse(status: 200, body: Data(answer.utf8))))
        let result = await OAuthClient(transport: transport).jwtBearer(
            integration: google, key: try rsaKey(), issuer: "svc@fake-project.iam.gserviceaccount.com",
            subject: "grace@umbrella.example", now: now)
        let grant = try result.get()
        #expect(grant.accessToken.value == "fake-access-token-0001")
        #expect(grant.expiresIn == 3599)
        #expect(grant.refreshToken == nil)
        let sent = try #require(transport.requests.first)
        #expect(FormEncoding.decode(sent.body)["grant_type"] == OAuthClient.jwtBearerGrantType)
    }

    @Test func jwtBearerRefusedByGoogleIsInvalidGrant() async throws {
        let answer = #"{"error":"invalid_grant","error_description":"Invalid email or User ID"}"#
        let transport = CannedTransport(.success(HTTPResponse(status: 400, body: Data(answer.utf8))))
        let result = await OAuthClient(transport: transport).jwtBearer(
            integration: google, key: try rsaKey(), issuer: "svc@example", subject: "gone@umbrella.example", now: now)
        guard case .failure(let error) = result else { throw Unexpected.success }
        #expect(error.kind == .invalidGrant)
        #expect(error.errorDescription == "Invalid email or User ID")
    }

    // MARK: - Client authentication with a private key (private_key_jwt)

    @Test func privateKeyJWTAuthenticatesTheClientWithASignedAssertion() throws {
        let generated = TestKey.shared(.p256)
        let pem = Secret(generated.privatePEM(.pkcs8))
        let okta = Integration(
            id: "okta-service", provider: "okta", tokenURL: URL(string: "https://fake.okta.example/oauth2/v1/token")!,
            clientID: "fake-client-id-0004", clientAuth: .privateKeyJWT, secretKind: .privateKey)
        let clock = TestClock(now)
        let client = OAuthClient(transport: CannedTransport(.success(HTTPResponse(status: 500))), clock: clock)
        let request = try client.makeRequest(
            url: okta.tokenURL, integration: okta, clientSecret: pem, fields: [("grant_type", "client_credentials")])
        #expect(request.header("Authorization") == nil)
        let fields = FormEncoding.decode(request.body)
        #expect(
            Set(fields.keys) == ["grant_type", "client_id", "client_assertion_type", "client_assertion"])
        #expect(fields["client_id"] == "fake-client-id-0004")
        #expect(fields["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        #expect(!String(decoding: request.body, as: UTF8.self).contains("PRIVATE"), "the key itself never goes out")
        let jwt = try DecodedJWT(try #require(fields["client_assertion"]))
        #expect(jwt.header["alg"] as? String == "ES256")
        #expect(jwt.claims["iss"] as? String == "fake-client-id-0004")
        #expect(jwt.claims["sub"] as? String == "fake-client-id-0004")
        #expect(jwt.claims["aud"] as? String == "https://fake.okta.example/oauth2/v1/token")
        #expect(jwt.int("iat") == 1_800_000_000 && jwt.int("exp") == 1_800_000_300)
        #expect((jwt.claims["jti"] as? String)?.count == 22)
        #expect(generated.verify(jwsSignature: jwt.signature, message: jwt.signingInput))
        // Each assertion has a jti of its own: a server that remembers them takes every one once.
        let again = try client.makeRequest(
            url: okta.tokenURL, integration: okta, clientSecret: pem, fields: [("grant_type", "client_credentials")])
        let second = try DecodedJWT(try #require(FormEncoding.decode(again.body)["client_assertion"]))
        #expect(second.claims["jti"] as? String != jwt.claims["jti"] as? String)
    }

    /// A JWT bearer grant of a private_key_jwt integration carries the grant's assertion and the client's, both
    /// signed with the one key (it failed as "no private key" when the refresher passed none).
    @Test func aJWTBearerGrantAlsoAuthenticatesTheClientWithPrivateKeyJWT() throws {
        let generated = TestKey.shared(.rsa2048)
        let integration = Integration(
            id: "svc", provider: "acme", tokenURL: URL(string: "https://acme.example/token")!,
            clientID: "fake-client-id-0007", clientAuth: .privateKeyJWT, secretKind: .privateKey)
        let pem = Secret(generated.privatePEM(.pkcs8))
        let request = try client.jwtBearerRequest(
            integration: integration, key: try SigningKey(pem: pem.value), issuer: "fake-client-id-0007",
            subject: "bob@example.com", clientSecret: pem, now: now)
        let fields = FormEncoding.decode(request.body)
        #expect(
            Set(fields.keys)
                == ["grant_type", "assertion", "client_id", "client_assertion_type", "client_assertion"])
        let clientJWT = try DecodedJWT(try #require(fields["client_assertion"]))
        #expect(clientJWT.claims["sub"] as? String == "fake-client-id-0007")
        #expect(generated.verify(jwsSignature: clientJWT.signature, message: clientJWT.signingInput))
    }

    /// A provider that quotes the client assertion back in its error: the assertion, valid for minutes, is not kept.
    @Test func aClientAssertionQuotedBackIsNotKept() async throws {
        let okta = Integration(
            id: "okta-service", provider: "okta", tokenURL: URL(string: "https://fake.okta.example/oauth2/v1/token")!,
            clientID: "fake-client-id-0004", clientAuth: .privateKeyJWT, secretKind: .privateKey)
        let transport = EchoingTransport()
        let client = OAuthClient(transport: transport, clock: TestClock(now))
        let result = await client.clientCredentials(
            integration: okta, clientSecret: Secret(TestKey.shared(.p256).privatePEM(.pkcs8)))
        guard case .failure(let error) = result else { throw Unexpected.success }
        let assertion = try #require(transport.lastAssertion)
        #expect(error.error == "invalid_client")
        #expect(!(error.errorDescription ?? "").contains(assertion), "\(error.errorDescription ?? "")")
        #expect(!"\(error)".contains(assertion))
    }

    /// A key integration that names a secret method (imported before the import refused it) never sends the key as
    /// the client secret; one that names private_key_jwt without a key says so.
    @Test(arguments: [ClientAuthMethod.clientSecretBasic, .clientSecretPost])
    func aPrivateKeyIsNeverSentAsTheClientSecret(_ method: ClientAuthMethod) throws {
        let pem = Secret(TestKey.shared(.p256).privatePEM(.pkcs8))
        let integration = Integration(
            id: "keyed", provider: "acme", tokenURL: URL(string: "https://acme.example/token")!,
            clientID: "fake-client-id-0005", clientAuth: method, secretKind: .privateKey)
        let error = try #require(throws: ProviderError.self) {
            try client.makeRequest(
                url: integration.tokenURL, integration: integration, clientSecret: pem,
                fields: [("grant_type", "refresh_token")])
        }
        #expect(error.kind == .configuration && error.error == "private_key_as_client_secret")
        let keyless = Integration(
            id: "keyless", provider: "acme", tokenURL: URL(string: "https://acme.example/token")!,
            clientID: "fake-client-id-0006", clientAuth: .privateKeyJWT)
        let missing = try #require(throws: ProviderError.self) {
            try client.makeRequest(url: keyless.tokenURL, integration: keyless, clientSecret: secret, fields: [])
        }
        #expect(missing.error == "no_private_key")
    }

    // MARK: - On-behalf-of, Microsoft shape

    @Test func onBehalfOfRequestHasMicrosoftShape() throws {
        let request = try client.onBehalfOfRequest(
            integration: microsoft, clientSecret: secret, assertion: Secret("fake-upstream-access-token-0001"))
        #expect(request.url == microsoft.tokenURL)
        #expect(request.header("Authorization") == nil)
        let fields = FormEncoding.decode(request.body)
        #expect(
            fields == [
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "client_id": "fake-client-id-0002",
                "client_secret": "fake-client-secret-0002",
                "assertion": "fake-upstream-access-token-0001",
                "scope": "https://graph.microsoft.com/.default",
                "requested_token_use": "on_behalf_of",
            ])
    }

    @Test func onBehalfOfWithBasicAuthKeepsTheSecretInTheHeader() throws {
        var integration = microsoft
        integration.clientAuth = .clientSecretBasic
        let request = try client.onBehalfOfRequest(
            integration: integration, clientSecret: secret, assertion: Secret("fake-upstream-access-token-0001"),
            scopes: ["User.Read", "Mail.Read"])
        let expected = Data("fake-client-id-0002:fake-client-secret-0002".utf8).base64EncodedString()
        #expect(request.header("Authorization") == "Basic \(expected)")
        let fields = FormEncoding.decode(request.body)
        #expect(Set(fields.keys) == ["grant_type", "assertion", "scope", "requested_token_use"])
        #expect(fields["scope"] == "User.Read Mail.Read")
    }

    // MARK: - Token exchange, RFC 8693

    @Test func tokenExchangeDefaultsToAnAccessTokenSubject() throws {
        let request = try client.tokenExchangeRequest(
            integration: exchanger, clientSecret: secret, subjectToken: Secret("fake-subject-token-0001"))
        #expect(
            FormEncoding.decode(request.body) == [
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": "fake-subject-token-0001",
                "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            ])
        #expect(request.header("Authorization")?.hasPrefix("Basic ") == true)
    }

    @Test func tokenExchangeCarriesEveryOptionalParameter() throws {
        let request = try client.tokenExchangeRequest(
            integration: exchanger, clientSecret: secret, subjectToken: Secret("fake-subject-token-0001"),
            subjectTokenType: "urn:ietf:params:oauth:token-type:jwt", actorToken: Secret("fake-actor-token-0001"),
            audiences: ["urn:example:api", "urn:example:other"], resources: ["https://api.example/v1"],
            scopes: ["read", "write"], requestedTokenType: "urn:ietf:params:oauth:token-type:refresh_token")
        let fields = FormEncoding.decode(request.body)
        #expect(
            fields == [
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token": "fake-subject-token-0001",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "actor_token": "fake-actor-token-0001",
                "actor_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "audience": "urn:example:api",
                "resource": "https://api.example/v1",
                "scope": "read write",
                "requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token",
            ])
        // Repeated parameters stay separate (RFC 8693 §2.1); decode keeps only the first of each.
        let pairs = String(decoding: request.body, as: UTF8.self).split(separator: "&")
        #expect(
            pairs.filter { $0.hasPrefix("audience=") } == [
                "audience=urn%3Aexample%3Aapi", "audience=urn%3Aexample%3Aother",
            ])
    }

    @Test func tokenExchangeSendsNoActorTypeWithoutAnActor() throws {
        let request = try client.tokenExchangeRequest(
            integration: exchanger, clientSecret: secret, subjectToken: Secret("fake-subject-token-0001"),
            actorTokenType: "urn:ietf:params:oauth:token-type:jwt")
        let fields = FormEncoding.decode(request.body)
        #expect(fields["actor_token"] == nil)
        #expect(fields["actor_token_type"] == nil)
    }

    @Test func tokenExchangeParsesTheIssuedToken() async throws {
        let answer =
            #"{"access_token":"fake-exchanged-token-0001","issued_token_type":"urn:ietf:params:oauth:token-type:"#
            + #"access_token","token_type":"Bearer","expires_in":60}"#
        let transport = CannedTransport(.success(HTTPResponse(status: 200, body: Data(answer.utf8))))
        let grant = try await OAuthClient(transport: transport).tokenExchange(
            integration: exchanger, clientSecret: secret, subjectToken: Secret("fake-subject-token-0001")
        ).get()
        #expect(grant.accessToken.value == "fake-exchanged-token-0001")
        #expect(grant.expiresIn == 60)
    }

    // MARK: - GitHub App installation token

    @Test(arguments: [
        ("https://api.github.com", "https://api.github.com/app/installations/4242/access_tokens"),
        ("https://api.github.com/", "https://api.github.com/app/installations/4242/access_tokens"),
        ("https://github.example/api/v3", "https://github.example/api/v3/app/installations/4242/access_tokens"),
    ])
    func githubRequestCarriesAnAppJWT(apiBase: String, url: String) throws {
        let request = try client.githubInstallationTokenRequest(
            appID: "123456", installationID: "4242", key: try rsaKey(), apiBase: URL(string: apiBase)!, now: now)
        #expect(request.method == "POST")
        #expect(request.url.absoluteString == url)
        #expect(request.header("Accept") == "application/vnd.github+json")
        #expect(request.header("X-GitHub-Api-Version") == "2022-11-28")
        #expect(request.header("User-Agent") == "tokentop")
        #expect(request.body.isEmpty)

        let authorization = try #require(request.header("Authorization"))
        #expect(authorization.hasPrefix("Bearer "))
        let jwt = try DecodedJWT(String(authorization.dropFirst("Bearer ".count)))
        #expect(jwt.header["alg"] as? String == "RS256")
        #expect(jwt.claims["iss"] as? String == "123456")
        let issuedAt = try #require(jwt.int("iat"))
        let expires = try #require(jwt.int("exp"))
        #expect(issuedAt == 1_800_000_000 - 60)
        #expect(expires == 1_800_000_000 + 540)
        #expect(expires - issuedAt <= 600)
        #expect(TestKey.shared(.rsa2048).verify(jwsSignature: jwt.signature, message: jwt.signingInput))
    }

    @Test func githubRefusesAnECKey() throws {
        let key = try SigningKey(pem: TestKey.shared(.p256).privatePEM(.pkcs8), label: "the key of integration gh")
        let error = try #require(throws: ProviderError.self) {
            try client.githubInstallationTokenRequest(appID: "1", installationID: "2", key: key, now: now)
        }
        #expect(error.kind == .configuration)
        #expect(error.error == "invalid_signing_key")
        #expect(
            error.errorDescription
                == "the key of integration gh: GitHub signs app JWTs with RS256 only, and this is an ES256 key; "
                + "use the RSA private key GitHub generated for the app")
    }

    @Test(arguments: ["", "12/../../user", "12?x=1", "４２"])
    func githubRefusesAnInstallationIDThatIsNotANumber(id: String) throws {
        let error = try #require(throws: ProviderError.self) {
            try client.githubInstallationTokenRequest(appID: "1", installationID: id, key: try rsaKey(), now: now)
        }
        #expect(error.kind == .configuration)
        #expect(error.error == "invalid_installation_id")
    }

    @Test func githubAnswerBecomesAGrant() throws {
        let body = """
            {"token":"ghs_fake000000000000000000000000000001","expires_at":"2027-01-15T09:00:00Z",
             "permissions":{"issues":"write","contents":"read","metadata":"read"},
             "repository_selection":"selected","repositories":[{"id":1296269,"name":"Hello-World"}]}
            """
        let expiresAt = try #require(OAuthClient.parseISO8601("2027-01-15T09:00:00Z"))
        let now = expiresAt.addingTimeInterval(-3540)
        let response = HTTPResponse(
            status: 201, headers: ["Content-Type": "application/json; charset=utf-8"], body: Data(body.utf8))
        let grant = try OAuthClient.parseInstallationToken(response, now: now).get()
        #expect(grant.accessToken.value == "ghs_fake000000000000000000000000000001")
        #expect(grant.expiresIn == 3540)
        #expect(grant.refreshToken == nil)
        #expect(grant.scopes == ["contents:read", "issues:write", "metadata:read"])
        #expect(grant.tokenType == "Bearer")
    }

    @Test func githubExpiryWithFractionalSecondsIsRead() throws {
        let body = #"{"token":"ghs_fake000000000000000000000000000002","expires_at":"2027-01-15T09:00:00.500Z"}"#
        let now = try #require(OAuthClient.parseISO8601("2027-01-15T08:00:00Z"))
        let grant = try OAuthClient.parseInstallationToken(HTTPResponse(status: 201, body: Data(body.utf8)), now: now)
            .get()
        #expect(grant.expiresIn == 3600.5)
        #expect(grant.scopes == nil)
    }

    @Test func githubExpiryBeforeNowIsAClockProblem() throws {
        let body = #"{"token":"ghs_fake000000000000000000000000000003","expires_at":"2027-01-15T09:00:00Z"}"#
        let now = try #require(OAuthClient.parseISO8601("2027-01-15T10:00:00Z"))
        let error = try #require(
            OAuthClient.parseInstallationToken(HTTPResponse(status: 201, body: Data(body.utf8)), now: now).failure)
        #expect(error.kind == .configuration)
        #expect(error.error == "clock_skew")
    }

    @Test(arguments: [
        (
            401,
            #"{"message":"A JSON web token could not be decoded","documentation_url":"https://docs.github.com/rest"}"#,
            [String: String](), ProviderError.Kind.configuration, "invalid_client",
            "the app JWT was refused: check the app id, the private key and this machine's clock "
                + "(GitHub: A JSON web token could not be decoded; see https://docs.github.com/rest)", nil as Double?
        ),
        (
            404, #"{"message":"Not Found","documentation_url":"https://docs.github.com/rest/apps/apps"}"#, [:],
            .invalidGrant, "installation_gone",
            "installation gone: app uninstalled, or the installation id is wrong; reinstall the app "
                + "(GitHub: Not Found; see https://docs.github.com/rest/apps/apps)", nil
        ),
        (
            422, #"{"message":"Validation Failed","documentation_url":"https://docs.github.com/rest"}"#, [:],
            .configuration, "validation_failed",
            "GitHub could not grant the requested repositories or permissions "
                + "(GitHub: Validation Failed; see https://docs.github.com/rest)", nil
        ),
        (
            403, #"{"message":"This installation has been suspended"}"#, [:], .invalidGrant, "installation_suspended",
            "installation suspended: an owner of the account must unsuspend the app "
                + "(GitHub: This installation has been suspended)", nil
        ),
        (
            403, #"{"message":"API rate limit exceeded"}"#,
            ["X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1800000090"], .transient, "rate_limited",
            "GitHub's rate limit was reached (GitHub: API rate limit exceeded)", 90
        ),
        (
            429, "", ["Retry-After": "30"], .transient, "rate_limited",
            "GitHub's rate limit was reached (GitHub answered HTTP 429)", 30
        ),
        (
            503, "<html>unicorn</html>", [:], .transient, "server_error",
            "GitHub is unavailable; retrying later (GitHub answered HTTP 503)", nil
        ),
    ])
    func githubFailuresAreClassified(
        status: Int, body: String, headers: [String: String], kind: ProviderError.Kind, code: String,
        description: String, retryAfter: Double?
    ) throws {
        let response = HTTPResponse(status: status, headers: headers, body: Data(body.utf8))
        let error = try #require(OAuthClient.parseInstallationToken(response, now: now).failure)
        #expect(error.kind == kind)
        #expect(error.error == code)
        #expect(error.status == status)
        #expect(error.errorDescription == description)
        #expect(error.retryAfter == retryAfter)
    }

    @Test(arguments: [(201, #"{"expires_at":"2027-01-15T09:00:00Z"}"#), (201, "ok"), (302, "<html></html>")])
    func githubAnswersWithoutATokenAreMalformed(status: Int, body: String) throws {
        let response = HTTPResponse(status: status, body: Data(body.utf8))
        let error = try #require(OAuthClient.parseInstallationToken(response, now: now).failure)
        #expect(error.kind == .malformed)
        #expect(error.bodyPrefix == body)
    }

    /// JSONSerialization kept one of two values silently; which token or expiry GitHub meant is unknown, so the
    /// answer is a recorded failure worded as a token answer's is, and its body (which holds a token) is not kept.
    @Test(arguments: [
        (
            201, "token",
            #"{"token":"ghs_fake000000000000000000000000000005","token":"ghs_fake000000000000000000000000000006"}"#,
            ProviderError.Kind.malformed
        ),
        (
            201, "expires_at",
            #"{"token":"ghs_fake000000000000000000000000000007","expires_at":"2027-01-15T09:00:00Z","#
                + #""expires_at":"2027-01-15T08:30:00Z"}"#, .malformed
        ),
        (404, "message", #"{"message":"Not Found","message":"Suspended"}"#, .transient),
    ])
    func githubAnswersNamingAMemberTwiceAreRecordedFailures(
        status: Int, member: String, body: String, kind: ProviderError.Kind
    ) throws {
        let response = HTTPResponse(status: status, headers: ["Retry-After": "12"], body: Data(body.utf8))
        let error = try #require(OAuthClient.parseInstallationToken(response, now: now).failure)
        #expect(error.kind == kind)
        #expect(error.error == "malformed_response")
        #expect(
            error.errorDescription
                == "the answer names \"\(member)\" twice, so which value the provider meant is unknown; none was used")
        #expect(error.status == status)
        #expect(error.retryAfter == 12)
        #expect(error.bodyPrefix == nil)
        #expect(!error.summary.contains("fake"))
    }

    /// Only the top-level members are read as the answer; a name repeated in `permissions` keeps its last value.
    @Test func githubPermissionsMayRepeatANameInside() throws {
        let body =
            #"{"token":"ghs_fake000000000000000000000000000008","permissions":{"issues":"read","issues":"write"}}"#
        let grant = try OAuthClient.parseInstallationToken(HTTPResponse(status: 201, body: Data(body.utf8)), now: now)
            .get()
        #expect(grant.accessToken.value == "ghs_fake000000000000000000000000000008")
        #expect(grant.scopes == ["issues:write"])
        #expect(grant.expiresIn == OAuthClient.githubTokenLifetime)
    }

    @Test func githubInstallationTokenRoundTrip() async throws {
        let body = #"{"token":"ghs_fake000000000000000000000000000004","expires_at":"2027-01-15T09:00:00Z"}"#
        let transport = CannedTransport(.success(HTTPResponse(status: 201, body: Data(body.utf8))))
        let now = try #require(OAuthClient.parseISO8601("2027-01-15T08:00:00Z"))
        let grant = try await OAuthClient(transport: transport).githubAppInstallationToken(
            appID: "123456", installationID: "4242", key: try rsaKey(), now: now
        ).get()
        #expect(grant.accessToken.value == "ghs_fake000000000000000000000000000004")
        #expect(grant.expiresIn == 3600)
        #expect(transport.requests.map(\.url.path) == ["/app/installations/4242/access_tokens"])
    }

    @Test func githubWithoutAnAnswerIsTransient() async throws {
        let transport = CannedTransport(.failure(URLError(.timedOut)))
        let result = await OAuthClient(transport: transport).githubAppInstallationToken(
            appID: "123456", installationID: "4242", key: try rsaKey(), now: now)
        let error = try #require(result.failure)
        #expect(error.kind == .transient)
        #expect(error.error == "network_error")
        #expect(error.errorDescription == "no answer before the timeout")
    }
}

/// The HTTP seam with one fixed answer; it keeps every request it was given.
final class CannedTransport: HTTPTransport {
    private let answer: Result<HTTPResponse, URLError>
    private let sent = Mutex<[HTTPRequest]>([])

    init(_ answer: Result<HTTPResponse, URLError>) { self.answer = answer }

    var requests: [HTTPRequest] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        sent.withLock { $0.append(request) }
        return try answer.get()
    }
}

/// Answers every request 400 `invalid_client`, quoting the client assertion it was sent.
final class EchoingTransport: HTTPTransport {
    private let assertion = Mutex<String?>(nil)

    var lastAssertion: String? { assertion.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let sent = FormEncoding.decode(request.body)["client_assertion"] ?? ""
        assertion.withLock { $0 = sent }
        let body = #"{"error":"invalid_client","error_description":"assertion "# + sent + #" is not trusted"}"#
        return HTTPResponse(status: 400, headers: ["content-type": "application/json"], body: Data(body.utf8))
    }
}

enum Unexpected: Error { case success }

extension Result {
    /// The error of a failure, or nil.
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
