import Foundation
import Testing
import TokentopCore

/// The delegated and bot grants that mint tokens from a private key, against a server that verifies the JWTs:
/// RFC 7523 JWT bearer in Google's domain-wide delegation shape, and GitHub App installation tokens.
///
/// The first tests check the server itself (with the core's public grant API and with JWTs that `openssl` signs),
/// so a refusal later is known to be the product's fault. The rest drive the `tokentop` binary end to end. Token
/// values never reach an `#expect`: only Booleans and counts derived from them do.
@Suite("Delegated and app grants against a JWT-verifying server")
struct DelegatedGrantTests {
    static let subject = "alice@example.com"
    static let scopes = ["https://www.googleapis.com/auth/drive.readonly", "email"]

    // MARK: - The server, with the core's grant API

    @Test func theCoresAssertionIsVerifiedAndItsSubjectRecorded() async throws {
        let server = try await AssertionServerFixture.start()
        let integration = Integration(
            id: "google-dwd", provider: "google", tokenURL: server.tokenURL,
            clientID: AssertionServerFixture.serviceAccount, clientAuth: .none, scopes: Self.scopes)
        let client = OAuthClient(transport: URLSessionTransport(timeout: 10))
        let result = await client.jwtBearer(
            integration: integration, key: try SigningKey(contentsOfFile: server.privateKeyPath),
            issuer: AssertionServerFixture.serviceAccount, subject: Self.subject, now: Date())
        let grant = try result.get()
        let fake = grant.accessToken.value.hasPrefix("fake-delegated-")
        #expect(fake)
        #expect(grant.expiresIn == 3600)
        #expect(grant.tokenType == "Bearer")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["jwt_bearer"])
        #expect(seen.first?.sub == Self.subject)
        #expect(seen.first?.scope == Self.scopes.joined(separator: " "))
        #expect(try await server.refused().isEmpty)
    }

    @Test func theCoresAppJWTBuysAnInstallationToken() async throws {
        let server = try await AssertionServerFixture.start()
        let client = OAuthClient(transport: URLSessionTransport(timeout: 10))
        let key = try SigningKey(contentsOfFile: server.privateKeyPath)
        let started = Date()
        let grant = try await client.githubAppInstallationToken(
            appID: AssertionServerFixture.appID, installationID: AssertionServerFixture.installationID, key: key,
            apiBase: server.baseURL, now: started
        ).get()
        let elapsed = Date().timeIntervalSince(started)
        let fake = grant.accessToken.value.hasPrefix("ghs_fake")
        #expect(fake)
        #expect(grant.scopes == ["contents:read"])
        let lifetime = try #require(grant.expiresIn)
        // The server counts its hour from when the request arrived, in whole seconds; the core counts from `started`.
        #expect(lifetime >= 3599 && lifetime <= 3601 + elapsed, "expires_at is an hour ahead")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["github_app_installation"])
        #expect(seen.first?.iss == AssertionServerFixture.appID)
        #expect(seen.first?.installation == AssertionServerFixture.installationID)
    }

    @Test func theCoreClassifiesAnUninstalledAppAndAnUnknownKey() async throws {
        let server = try await AssertionServerFixture.start()
        let client = OAuthClient(transport: URLSessionTransport(timeout: 10))
        let key = try SigningKey(contentsOfFile: server.privateKeyPath)
        let gone = await client.githubAppInstallationToken(
            appID: AssertionServerFixture.appID, installationID: AssertionServerFixture.missingInstallationID,
            key: key, apiBase: server.baseURL, now: Date())
        guard case .failure(let goneError) = gone else {
            Issue.record("a missing installation was not refused")
            return
        }
        #expect(goneError.kind == .invalidGrant)
        #expect(goneError.status == 404)
        #expect(goneError.errorDescription?.contains("uninstalled") == true)

        let stranger = try SigningKey(contentsOfFile: try server.untrustedKey())
        let refused = await client.githubAppInstallationToken(
            appID: AssertionServerFixture.appID, installationID: AssertionServerFixture.installationID,
            key: stranger, apiBase: server.baseURL, now: Date())
        guard case .failure(let refusedError) = refused else {
            Issue.record("a JWT signed by an unknown key was accepted")
            return
        }
        #expect(refusedError.kind == .configuration)
        #expect(refusedError.error == "invalid_client")
        #expect(refusedError.status == 401)
        #expect(try await server.seen().isEmpty)
        let reasons = try await server.refused().compactMap(\.errorDescription)
        let unknownKey = "the JWT signature does not verify with any key this server knows"
        #expect(reasons == ["no installation 4040", unknownKey])
    }

    // MARK: - The server refuses what Google and GitHub refuse

    /// An assertion that breaks one of Google's rules; everything else about it is right.
    enum BadAssertion: String, CaseIterable, Sendable {
        case unknownKey, tamperedClaims, wrongAudience, wrongIssuer, noSubject, noScope, longerThanAnHour
        case issuedInTheFuture, expired, algorithmNone, algorithmHS256

        /// Words of the server's error_description for this fault.
        var reason: String {
            switch self {
            case .unknownKey, .tamperedClaims: "does not verify"
            case .wrongAudience: "aud is"
            case .wrongIssuer: "iss is"
            case .noSubject: "the sub claim"
            case .noScope: "the scope claim"
            case .longerThanAnHour: "at most 3600 s"
            case .issuedInTheFuture: "in the future"
            case .expired: "expired"
            case .algorithmNone, .algorithmHS256: "alg is"
            }
        }
    }

    /// The claims of a good assertion for `server`, issued now.
    static func goodClaims(_ server: AssertionServerFixture, now: Int) -> [String: Any] {
        [
            "iss": AssertionServerFixture.serviceAccount, "sub": subject, "scope": scopes.joined(separator: " "),
            "aud": server.tokenURL.absoluteString, "iat": now, "exp": now + 3600,
        ]
    }

    @Test(arguments: BadAssertion.allCases)
    func theServerRefusesAnAssertionGoogleWouldRefuse(_ fault: BadAssertion) async throws {
        let server = try await AssertionServerFixture.start()
        let now = Int(Date().timeIntervalSince1970)
        var claims = Self.goodClaims(server, now: now)
        // The control: the same claims, unbroken, are accepted, so the one fault below is what the server refuses.
        let control = try await server.jwtBearer(
            assertion: try AssertionServerFixture.signJWT(claims: claims, privateKey: server.privateKeyPath))
        #expect(control.status == 200, "\(control)")

        var key = server.privateKeyPath
        var header: [String: Any] = ["alg": "RS256", "typ": "JWT"]
        switch fault {
        case .unknownKey: key = try server.untrustedKey()
        case .tamperedClaims: break
        case .wrongAudience: claims["aud"] = server.tokenURL.absoluteString + "/"
        case .wrongIssuer: claims["iss"] = "other@fake-project.iam.example"
        case .noSubject: claims["sub"] = nil
        case .noScope: claims["scope"] = nil
        case .longerThanAnHour: claims["exp"] = now + 3601
        case .issuedInTheFuture:
            claims["iat"] = now + 300
            claims["exp"] = now + 900
        case .expired:
            claims["iat"] = now - 7200
            claims["exp"] = now - 3600
        case .algorithmNone: header["alg"] = "none"
        case .algorithmHS256: header["alg"] = "HS256"
        }
        var assertion = try AssertionServerFixture.signJWT(claims: claims, header: header, privateKey: key)
        if fault == .tamperedClaims {
            // Another subject in the claims, under the signature of the original ones.
            var other = claims
            other["sub"] = "mallory@example.com"
            let payload = AssertionServerFixture.base64URL(
                try JSONSerialization.data(withJSONObject: other, options: [.sortedKeys]))
            var parts = assertion.split(separator: ".").map(String.init)
            parts[1] = payload
            assertion = parts.joined(separator: ".")
        }
        let reply = try await server.jwtBearer(assertion: assertion)
        #expect(reply.status == 400, "\(reply)")
        #expect(reply.string("error") == "invalid_grant")
        #expect(reply.string("error_description")?.contains(fault.reason) == true, "\(reply)")
        #expect(try await server.seen().count == 1, "only the control is recorded as seen")
        let refused = try await server.refused()
        #expect(refused.count == 1)
        #expect(refused.first?.errorDescription?.contains(fault.reason) == true)
    }

    @Test func theServerAnswersTheWrongGrantTypeAsRFC6749Says() async throws {
        let server = try await AssertionServerFixture.start()
        let now = Int(Date().timeIntervalSince1970)
        let assertion = try AssertionServerFixture.signJWT(
            claims: Self.goodClaims(server, now: now), privateKey: server.privateKeyPath)
        let reply = try await server.jwtBearer(assertion: assertion, grantType: "client_credentials")
        #expect(reply.status == 400)
        #expect(reply.string("error") == "unsupported_grant_type")
        #expect(try await server.seen().isEmpty)
    }

    /// An app JWT or request that breaks one of GitHub's rules; everything else about it is right.
    enum BadAppRequest: String, CaseIterable, Sendable {
        case unknownKey, wrongIssuer, issuedInTheFuture, issuedTooLongAgo, longerThanTenMinutes, noAcceptHeader
        case missingInstallation

        /// The HTTP status GitHub answers.
        var status: Int {
            switch self {
            case .noAcceptHeader: 415
            case .missingInstallation: 404
            default: 401
            }
        }

        /// Words of the refusal the server records.
        var reason: String? {
            switch self {
            case .unknownKey: "does not verify"
            case .wrongIssuer: "iss is"
            case .issuedInTheFuture: "in the future"
            case .issuedTooLongAgo: "in the past"
            case .longerThanTenMinutes: "at most 600 s"
            case .noAcceptHeader: nil
            case .missingInstallation: "no installation 4040"
            }
        }
    }

    @Test(arguments: BadAppRequest.allCases)
    func theServerRefusesAnAppRequestGitHubWouldRefuse(_ fault: BadAppRequest) async throws {
        let server = try await AssertionServerFixture.start()
        let now = Int(Date().timeIntervalSince1970)
        // GitHub's own recipe: iat 60 s back, exp 10 minutes after iat.
        var claims: [String: Any] = ["iss": AssertionServerFixture.appID, "iat": now - 60, "exp": now + 540]
        let control = try await server.installationToken(
            jwt: try AssertionServerFixture.signJWT(claims: claims, privateKey: server.privateKeyPath))
        #expect(control.status == 201, "\(control)")
        let controlToken = control.string("token")?.hasPrefix("ghs_fake") == true
        #expect(controlToken)
        #expect(control.string("expires_at")?.hasSuffix("Z") == true)
        #expect(control.object["permissions"] as? [String: String] == ["contents": "read"])

        var key = server.privateKeyPath
        var installation = AssertionServerFixture.installationID
        var accept: String? = "application/vnd.github+json"
        switch fault {
        case .unknownKey: key = try server.untrustedKey()
        case .wrongIssuer: claims["iss"] = "999"
        case .issuedInTheFuture:
            // From the clock now, not at the test's start: on a loaded machine the server and the control request
            // took longer than 30 s, and the "future" had come.
            let later = Int(Date().timeIntervalSince1970)
            claims["iat"] = later + 120
            claims["exp"] = later + 500
        case .issuedTooLongAgo:
            claims["iat"] = now - 300
            claims["exp"] = now + 200
        case .longerThanTenMinutes: claims["exp"] = now - 60 + 601
        case .noAcceptHeader: accept = nil
        case .missingInstallation: installation = AssertionServerFixture.missingInstallationID
        }
        let reply = try await server.installationToken(
            installation: installation,
            jwt: try AssertionServerFixture.signJWT(claims: claims, privateKey: key), accept: accept)
        #expect(reply.status == fault.status, "\(reply)")
        #expect(reply.string("documentation_url") == "https://docs.github.com/rest")
        #expect(reply.object["token"] == nil)
        if fault.status == 401 {
            #expect(reply.string("message") == "A JSON web token could not be decoded")
        }
        #expect(try await server.seen().count == 1, "only the control is recorded as seen")
        if let reason = fault.reason {
            let refused = try await server.refused()
            #expect(refused.count == 1)
            #expect(refused.first?.errorDescription?.contains(reason) == true, "\(refused)")
        }
    }

    @Test func droppingTheFixtureKillsTheServer() async throws {
        var pid: Int32 = 0
        var directory: URL?
        do {
            let server = try await AssertionServerFixture.start()
            pid = server.pid
            directory = server.directory
            #expect(kill(pid, 0) == 0)
        }
        // deinit sent SIGKILL and reaped the child, so the pid names no process; the keys are gone with the folder.
        let gone = kill(pid, 0) == -1 && errno == ESRCH
        #expect(gone)
        #expect(directory.map { FileManager.default.fileExists(atPath: $0.path) } == false)
    }

    // MARK: - tokentop end to end

    /// The import file for `integration` and `connections`; key files are referred to by path.
    static func importFile(
        _ sandbox: Sandbox, integration: [String: Any], connections: [[String: Any]]
    ) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: ["integrations": [integration], "connections": connections], options: [.sortedKeys])
        return try sandbox.write("assertions-import.json", String(decoding: data, as: UTF8.self))
    }

    /// A Google service account with domain-wide delegation: the token URL is the assertion's audience.
    static func googleIntegration(_ server: AssertionServerFixture, key: String) -> [String: Any] {
        [
            "id": "google-dwd", "provider": "google", "token_url": server.tokenURL.absoluteString,
            "client_id": AssertionServerFixture.serviceAccount, "private_key_file": key, "scopes": scopes,
        ]
    }

    /// A GitHub App: the token URL is the REST API's base, the client id the app id.
    static func githubIntegration(_ server: AssertionServerFixture, key: String) -> [String: Any] {
        [
            "id": "gh-app", "provider": "github", "token_url": server.baseURL.absoluteString,
            "client_id": AssertionServerFixture.appID, "private_key_file": key,
        ]
    }

    static var delegatedConnection: [String: Any] {
        [
            "id": "dwd-alice", "integration": "google-dwd", "scope": "delegated", "subject": subject,
            "grant": "jwt_bearer",
        ]
    }

    static func installationConnection(_ installation: String) -> [String: Any] {
        [
            "id": "gh-install", "integration": "gh-app", "scope": "bot", "subject": installation,
            "grant": "github_app_installation",
        ]
    }

    /// `tokentop show ID --json`, decoded.
    static func show(_ id: String, _ sandbox: Sandbox) throws -> (object: [String: Any], text: String) {
        let shown = try Binary.run(["show", id, "--json"], environment: sandbox.environment)
        #expect(shown.status == 0, "\(shown.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        return (object, shown.stdout)
    }

    /// Seconds from now until an RFC 3339 time.
    static func secondsUntil(_ value: Any?) -> Double? {
        guard let text = value as? String else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date.timeIntervalSinceNow }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSinceNow
    }

    @Test func aJWTBearerConnectionIsMintedForTheImpersonatedUser() async throws {
        let server = try await AssertionServerFixture.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try Self.importFile(
            sandbox, integration: Self.googleIntegration(server, key: server.privateKeyPath),
            connections: [Self.delegatedConnection])
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")

        let refresh = try Binary.run(["refresh", "dwd-alice"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        #expect(refresh.stdout.contains("refreshed"))
        let (object, text) = try Self.show("dwd-alice", sandbox)
        #expect(object["status"] as? String == "healthy")
        #expect(object["grant"] as? String == "jwt_bearer")
        #expect(object["scope"] as? String == "delegated")
        #expect(object["failures"] as? Int == 0)
        let left = try #require(Self.secondsUntil(object["expires_at"]))
        #expect(left > 3600 - 120 && left <= 3600, "expires about an hour ahead")
        let leaks = ["fake-delegated-", "PRIVATE KEY"].filter { text.contains($0) || refresh.stdout.contains($0) }
        #expect(leaks.isEmpty, "show or refresh printed a secret")

        let seen = try await server.seen()
        #expect(seen.count == 1)
        #expect(seen.first?.grant == "jwt_bearer")
        #expect(seen.first?.sub == Self.subject)
        #expect(seen.first?.scope == Self.scopes.joined(separator: " "))
    }

    @Test func aGitHubAppInstallationConnectionIsMinted() async throws {
        let server = try await AssertionServerFixture.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try Self.importFile(
            sandbox, integration: Self.githubIntegration(server, key: server.privateKeyPath),
            connections: [Self.installationConnection(AssertionServerFixture.installationID)])
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")

        let refresh = try Binary.run(["refresh", "gh-install"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        #expect(refresh.stdout.contains("refreshed"))
        let (object, text) = try Self.show("gh-install", sandbox)
        #expect(object["status"] as? String == "healthy")
        #expect(object["grant"] as? String == "github_app_installation")
        #expect(object["granted_scopes"] as? [String] == ["contents:read"])
        let left = try #require(Self.secondsUntil(object["expires_at"]))
        #expect(left > 3600 - 120 && left <= 3600, "expires about an hour ahead")
        let leaks = ["ghs_fake", "PRIVATE KEY"].filter { text.contains($0) || refresh.stdout.contains($0) }
        #expect(leaks.isEmpty, "show or refresh printed a secret")

        let seen = try await server.seen()
        #expect(seen.count == 1)
        #expect(seen.first?.iss == AssertionServerFixture.appID)
        #expect(seen.first?.installation == AssertionServerFixture.installationID)
    }

    @Test func anUninstalledAppNeedsReauth() async throws {
        let server = try await AssertionServerFixture.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try Self.importFile(
            sandbox, integration: Self.githubIntegration(server, key: server.privateKeyPath),
            connections: [Self.installationConnection(AssertionServerFixture.missingInstallationID)])
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")

        let refresh = try Binary.run(["refresh", "gh-install"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("needs re-auth"), "\(refresh.stdout)\(refresh.stderr)")
        let (object, _) = try Self.show("gh-install", sandbox)
        #expect(object["status"] as? String == "needs-reauth")
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["status"] as? Int == 404)
        let reason = object["reauth_reason"] as? String ?? ""
        #expect(reason.contains("uninstalled"), "\(reason)")
        #expect(try await server.seen().isEmpty)
        #expect(try await server.refused().compactMap(\.errorDescription) == ["no installation 4040"])
    }

    @Test func anAssertionSignedByAnUnknownKeyNeedsReauth() async throws {
        let server = try await AssertionServerFixture.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try Self.importFile(
            sandbox, integration: Self.googleIntegration(server, key: try server.untrustedKey()),
            connections: [Self.delegatedConnection])
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")

        let refresh = try Binary.run(["refresh", "dwd-alice"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("needs re-auth"), "\(refresh.stdout)\(refresh.stderr)")
        let (object, _) = try Self.show("dwd-alice", sandbox)
        #expect(object["status"] as? String == "needs-reauth")
        #expect(object["failures"] as? Int == 1)
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "invalid_grant")
        #expect(error["status"] as? Int == 400)
        #expect((error["error_description"] as? String)?.contains("does not verify") == true)
        #expect(try await server.seen().isEmpty)
        let refused = try await server.refused()
        #expect(refused.count == 1)
        #expect(refused.first?.errorDescription?.contains("does not verify") == true)
    }

    @Test func anAppJWTSignedByAnUnknownKeyIsAConfigurationFailure() async throws {
        let server = try await AssertionServerFixture.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try Self.importFile(
            sandbox, integration: Self.githubIntegration(server, key: try server.untrustedKey()),
            connections: [Self.installationConnection(AssertionServerFixture.installationID)])
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")

        // GitHub answers 401 to a JWT it cannot verify: the app's key or id is wrong, which no user can fix.
        let refresh = try Binary.run(["refresh", "gh-install"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("refresh failed"), "\(refresh.stdout)\(refresh.stderr)")
        let (object, _) = try Self.show("gh-install", sandbox)
        #expect(object["status"] as? String == "failing")
        #expect(object["reauth_reason"] is NSNull)
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "invalid_client")
        #expect(error["status"] as? Int == 401)
        #expect(try await server.seen().isEmpty)
    }
}
