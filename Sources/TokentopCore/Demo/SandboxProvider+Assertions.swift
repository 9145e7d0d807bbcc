import Foundation

/// The sandbox's signed-assertion grants: JWT bearer in Google's domain-wide delegation shape, and GitHub App
/// installation tokens.
///
/// Each assertion is checked as the real server checks it: RS256, the claims each shape requires, the lifetime
/// limits, and the signature. RS256 (RSASSA-PKCS1-v1_5) is deterministic, so the signature is verified by signing
/// the same input again with the trusted key and comparing.
extension SandboxProvider {
    /// A decoded compact JWS whose signature matched a trusted key.
    struct VerifiedJWT {
        var header: [String: Any]
        var claims: [String: Any]

        func string(_ name: String) -> String? { claims[name] as? String }
        func number(_ name: String) -> Int? { (claims[name] as? NSNumber)?.intValue }
    }

    /// Why an assertion was refused, in the words the provider's documentation uses.
    struct AssertionRefusal: Error {
        var description: String
    }

    /// Decodes `token`, finds its trusted key by the `iss` claim through `trusted`, and checks the signature.
    static func verify(_ token: String, trusted: (String) -> SigningKey?) -> Result<VerifiedJWT, AssertionRefusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func object(_ text: String) -> [String: Any]? {
            JWT.base64URLDecode(text).flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }
        guard parts.count == 3, let header = object(parts[0]), let claims = object(parts[1]),
            let signature = JWT.base64URLDecode(parts[2])
        else { return .failure(AssertionRefusal(description: "A JSON web token could not be decoded.")) }
        guard header["alg"] as? String == "RS256" else {
            return .failure(AssertionRefusal(description: "Invalid JWT: only RS256 is accepted."))
        }
        guard let issuer = claims["iss"] as? String, let key = trusted(issuer) else {
            return .failure(AssertionRefusal(description: "Invalid JWT: the issuer is not known."))
        }
        guard let expected = try? key.sign(Array("\(parts[0]).\(parts[1])".utf8)), expected == signature else {
            return .failure(AssertionRefusal(description: "Invalid JWT Signature."))
        }
        return .success(VerifiedJWT(header: header, claims: claims))
    }

    /// RFC 7523 §2.1 at the token endpoint: a service account's assertion for the user in `sub`.
    func jwtBearer(_ form: [String: String], provider: String, now: Date, registry: inout Registry) -> HTTPResponse {
        let accounts = registry.serviceAccounts
        let verified = Self.verify(form["assertion"] ?? "") { issuer in
            accounts[issuer].flatMap { $0.provider == provider ? $0.key : nil }
        }
        let jwt: VerifiedJWT
        switch verified {
        case .failure(let refusal): return Self.error(400, "invalid_grant", refusal.description)
        case .success(let value): jwt = value
        }
        let clock = Int(now.timeIntervalSince1970)
        guard jwt.string("aud") == Self.tokenURL(provider).absoluteString else {
            return Self.error(400, "invalid_grant", "Invalid JWT: the audience is not this token endpoint.")
        }
        guard let issuedAt = jwt.number("iat"), let expires = jwt.number("exp"), issuedAt <= clock + 60,
            expires > clock, expires - issuedAt <= Int(OAuthClient.maximumAssertionLifetime)
        else {
            return Self.error(
                400, "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                    + "reasonable timeframe.")
        }
        guard let subject = jwt.string("sub"), !subject.isEmpty, let scope = jwt.string("scope"), !scope.isEmpty
        else {
            return Self.error(
                401, "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client not authorized for "
                    + "any of the scopes requested.")
        }
        let behaviour = registry.behaviours[provider] ?? Behaviour(rotates: false)
        let access = Self.makeToken("demo-ya29-")
        registry.accessTokens.insert(access.value)
        return Self.json(
            200,
            ["access_token": access.value, "token_type": "Bearer", "expires_in": Int.random(in: behaviour.lifetimes)])
    }

    /// GitHub's `POST /app/installations/{id}/access_tokens`, with the app JWT as the bearer.
    func installationToken(_ request: HTTPRequest, provider: String, now: Date, registry: inout Registry)
        -> HTTPResponse
    {
        let documentation = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
        func gitHubError(_ status: Int, _ message: String) -> HTTPResponse {
            Self.json(status, ["message": message, "documentation_url": documentation])
        }
        let parts = request.url.path.split(separator: "/").map(String.init)
        guard request.method == "POST", parts.count == 4, parts[3] == "access_tokens" else {
            return gitHubError(404, "Not Found")
        }
        let installation = parts[2]
        guard let header = request.header("Authorization"), header.hasPrefix("Bearer ") else {
            return gitHubError(401, "A JSON web token could not be decoded")
        }
        let apps = registry.apps
        let verified = Self.verify(String(header.dropFirst(7))) { issuer in
            apps[issuer].flatMap { $0.provider == provider ? $0.key : nil }
        }
        let jwt: VerifiedJWT
        switch verified {
        case .failure(let refusal): return gitHubError(401, refusal.description)
        case .success(let value): jwt = value
        }
        let clock = Int(now.timeIntervalSince1970)
        guard let issuedAt = jwt.number("iat"), let expires = jwt.number("exp"), issuedAt <= clock, expires > clock,
            expires - issuedAt <= 600
        else {
            return gitHubError(
                401, "'Expiration time' claim ('exp') is too far in the future, or 'Issued at' is in the future")
        }
        guard let app = jwt.string("iss").flatMap({ apps[$0] }), app.installations.contains(installation) else {
            return gitHubError(404, "Not Found")
        }
        let behaviour = registry.behaviours[provider] ?? Behaviour(rotates: false)
        let token = Self.makeToken("ghs_")
        registry.accessTokens.insert(token.value)
        let expiresAt = now.addingTimeInterval(Double(Int.random(in: behaviour.lifetimes)))
        return Self.json(
            201,
            [
                "token": token.value, "expires_at": RFC3339.string(from: expiresAt),
                "permissions": ["contents": "read", "metadata": "read", "deployments": "write"],
                "repository_selection": "selected",
            ])
    }
}
