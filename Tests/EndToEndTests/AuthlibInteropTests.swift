import Foundation
import Testing
import TokentopCore

/// The JWT bearer grant (RFC 7523, Google domain-wide delegation) against Authlib's own server implementation
/// (authlib.oauth2.rfc7523.JWTBearerGrant), which verifies tokentop's RS256 assertion with the public key before it
/// mints a token. Token values never reach an `#expect`.
@Suite("JWT bearer against Authlib")
struct AuthlibInteropTests {
    typealias Server = AuthlibServerFixture

    static func integration(_ server: Server) -> Integration {
        Integration(
            id: "google-dwd", provider: "google", tokenURL: server.tokenURL, clientID: Server.serviceAccount,
            clientAuth: .none, scopes: Server.scopes)
    }

    @Test func authlibVerifiesTheCoresAssertionAndMintsAToken() async throws {
        let server = try await Server.start()
        let client = OAuthClient(transport: URLSessionTransport(timeout: 10))
        let grant = try await client.jwtBearer(
            integration: Self.integration(server), key: try SigningKey(contentsOfFile: server.privateKeyPath),
            issuer: Server.serviceAccount, subject: "alice@example.com", now: Date()
        ).get()
        #expect(grant.accessToken.value.hasPrefix("fake-authlib-"))
        #expect(grant.expiresIn == 3600)
        #expect(grant.scopes == Server.scopes)
        let issued = try await server.issued()
        #expect(
            issued == [
                Server.Issued(
                    sub: "alice@example.com", scope: Server.scopes.joined(separator: " "), iss: Server.serviceAccount)
            ])
        #expect(try await server.refusals().isEmpty)
    }

    /// private_key_jwt client authentication end to end: `tokentop refresh` of a client credentials connection whose
    /// integration holds a key; Authlib checks each client assertion's signature, audience and jti. A key Authlib
    /// does not know is refused, and said as the integration's configuration error.
    @Test func authlibTakesTheClientAssertionOfAKeyIntegration() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        func importFile(key: String) throws -> String {
            let data = try JSONSerialization.data(withJSONObject: [
                "integrations": [[
                    "id": "authlib-key", "provider": "authlib", "token_url": server.tokenURL.absoluteString,
                    "client_id": Server.keyClient, "client_auth": "private_key_jwt", "private_key_file": key,
                    "scopes": ["reports"],
                ]],
                "connections": [[
                    "id": "authlib-reports", "integration": "authlib-key", "scope": "org",
                    "subject": "reports.example", "grant": "client_credentials",
                ]],
            ])
            return try sandbox.write("key-client.json", String(decoding: data, as: UTF8.self))
        }
        let env = sandbox.environment
        let imported = try Binary.run(["import", try importFile(key: server.keyClientKeyPath)], environment: env)
        try #require(imported.status == 0, "\(imported.stderr)")
        for _ in 0..<2 {
            let refresh = try Binary.run(["refresh", "authlib-reports"], environment: env)
            #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
            #expect(refresh.stdout.contains("authlib-reports: refreshed"), "\(refresh.stdout)")
        }
        let issued = try await server.issued()
        #expect(
            issued == Array(
                repeating: Server.Issued(sub: Server.keyClient, scope: "reports", iss: Server.keyClient), count: 2),
            "each refresh's assertion was taken: a jti of its own")
        #expect(try await server.refusals().isEmpty)

        // The service account's key is no key of this client's.
        let stranger = try Binary.run(["import", try importFile(key: server.privateKeyPath)], environment: env)
        try #require(stranger.status == 0, "\(stranger.stderr)")
        let refused = try Binary.run(["refresh", "authlib-reports"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("invalid_client"), "\(refused.stderr)")
        #expect(try await server.refusals().map(\.error) == ["invalid_client"])
        #expect(!(refused.stdout + refused.stderr).contains("PRIVATE KEY"))
    }

    /// One thing wrong with an otherwise good assertion or request, and what Authlib (or Google's rules on top of
    /// it) answers.
    enum Fault: String, CaseIterable, Sendable {
        case unknownKey, tamperedSubject, unknownUser, scopeNotGranted, wrongAudience, wrongIssuer
        case longerThanAnHour, expired, noSubject, noScope, algorithmHS256, scopeInTheForm, clientSecretInTheForm

        /// The error, and words of its description; Authlib gives a bad signature no description.
        var expected: (error: String, words: String?) {
            switch self {
            case .unknownKey, .tamperedSubject: ("invalid_grant", nil)
            case .unknownUser: ("invalid_grant", "sub")
            case .scopeNotGranted: ("invalid_scope", "not granted")
            case .wrongAudience: ("invalid_grant", "aud")
            case .wrongIssuer: ("invalid_grant", "client does not exist")
            case .longerThanAnHour: ("invalid_grant", "at most 3600 s")
            case .expired: ("invalid_grant", "exp")
            case .noSubject: ("invalid_grant", "sub")
            case .noScope: ("invalid_grant", "scope")
            case .algorithmHS256: ("invalid_grant", "alg is 'HS256'")
            case .scopeInTheForm: ("invalid_request", "scope claim")
            case .clientSecretInTheForm: ("invalid_request", "does not take: client_secret")
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func authlibRefusesWhatGoogleRefuses(_ fault: Fault) async throws {
        let server = try await Server.start()
        let now = Int(Date().timeIntervalSince1970)
        var claims: [String: Any] = [
            "iss": Server.serviceAccount, "sub": "alice@example.com", "scope": Server.scopes.joined(separator: " "),
            "aud": server.tokenURL.absoluteString, "iat": now, "exp": now + 3600,
        ]
        let control = try await server.post(
            assertion: try AssertionServerFixture.signJWT(claims: claims, privateKey: server.privateKeyPath))
        #expect(control.status == 200, "\(control)")

        var key = server.privateKeyPath
        var header: [String: Any] = ["alg": "RS256", "typ": "JWT"]
        var extra: [(String, String)] = []
        switch fault {
        case .unknownKey:
            key = try AssertionServerFixture.generateKeyPair(in: server.directory, name: "stranger").privateKey
        case .tamperedSubject: break
        case .unknownUser: claims["sub"] = "mallory@example.com"
        case .scopeNotGranted: claims["scope"] = "email https://www.googleapis.com/auth/gmail.send"
        case .wrongAudience: claims["aud"] = "https://oauth2.googleapis.com/token"
        case .wrongIssuer: claims["iss"] = "other@fake-project.iam.example"
        case .longerThanAnHour: claims["exp"] = now + 3601
        case .expired:
            claims["iat"] = now - 7200
            claims["exp"] = now - 3600
        case .noSubject: claims["sub"] = nil
        case .noScope: claims["scope"] = nil
        case .algorithmHS256: header["alg"] = "HS256"
        case .scopeInTheForm: extra = [("scope", "email")]
        case .clientSecretInTheForm: extra = [("client_secret", "fake-client-secret-0009")]
        }
        var assertion = try AssertionServerFixture.signJWT(claims: claims, header: header, privateKey: key)
        if fault == .tamperedSubject {
            var other = claims
            other["sub"] = "bob@example.com"
            var parts = assertion.split(separator: ".").map(String.init)
            parts[1] = AssertionServerFixture.base64URL(
                try JSONSerialization.data(withJSONObject: other, options: [.sortedKeys]))
            assertion = parts.joined(separator: ".")
        }
        let reply = try await server.post(assertion: assertion, extra: extra)
        #expect(reply.status == 400 || reply.status == 401, "\(reply)")
        #expect(reply.string("error") == fault.expected.error, "\(reply)")
        if let words = fault.expected.words {
            #expect(reply.string("error_description")?.contains(words) == true, "\(reply)")
        }
        #expect(reply.object["access_token"] == nil)
        #expect(try await server.issued().count == 1, "only the control got a token")
        #expect(try await server.refusals().map(\.error) == [fault.expected.error])
    }

    // MARK: - tokentop end to end

    static func importFile(_ server: Server, _ sandbox: Sandbox, subject: String) throws {
        let file: [String: Any] = [
            "integrations": [
                [
                    "id": "google-dwd", "provider": "google", "token_url": server.tokenURL.absoluteString,
                    "client_id": Server.serviceAccount, "private_key_file": server.privateKeyPath,
                    "scopes": Server.scopes,
                ]
            ],
            "connections": [
                [
                    "id": "dwd-user", "integration": "google-dwd", "scope": "delegated", "subject": subject,
                    "grant": "jwt_bearer",
                ]
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: file, options: [.sortedKeys])
        let path = try sandbox.write("authlib-import.json", String(decoding: data, as: UTF8.self))
        let imported = try Binary.run(["import", path], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")
    }

    @Test func tokentopMintsADelegatedTokenFromAuthlib() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try Self.importFile(server, sandbox, subject: "bob@example.com")

        let refresh = try Binary.run(["refresh", "dwd-user"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        let shown = try Binary.run(["show", "dwd-user", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "healthy")
        #expect(object["granted_scopes"] as? [String] == Server.scopes)
        #expect(object["failures"] as? Int == 0)
        let leaked = ["fake-authlib-", "PRIVATE KEY"].filter {
            shown.stdout.contains($0) || refresh.stdout.contains($0)
        }
        #expect(leaked.isEmpty, "a secret was printed")
        #expect(try await server.issued().map(\.sub) == ["bob@example.com"])
    }

    @Test func aUserOutsideTheDomainNeedsReauthInAuthlibsWords() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try Self.importFile(server, sandbox, subject: "mallory@example.com")

        let refresh = try Binary.run(["refresh", "dwd-user"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("needs re-auth"), "\(refresh.stdout)\(refresh.stderr)")
        let shown = try Binary.run(["show", "dwd-user", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "needs-reauth")
        let error = try #require(object["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "invalid_grant")
        #expect(error["error_description"] as? String == "Invalid 'sub' value in assertion")
        #expect(try await server.issued().isEmpty)
    }
}
