import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The derived grants of Tests/Interop/assertions/delegation.py: a confidential middle-tier client, one parent
/// grant (its refresh token and its current access token, both fake), and the exact scopes and targets the server
/// demands.
extension AssertionServerFixture {
    static let clientID = "fake-middle-tier"
    static let clientSecret = "fake-middle-tier-secret-0001"
    /// Whom the parent grant stands for: the admin whose token the children exchange.
    static let parentSubject = "admin@example.com"
    static let parentRefreshToken = "fake-parent-refresh-0001"
    static let parentAccessToken = "fake-parent-access-0001"
    static let oboScope = "https://graph.example.test/.default"
    static let exchangeScope = "orders:read"
    static let audience = "api://orders"
    static let resource = "https://orders.example.test"
    static let tokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let jwtBearerGrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    static func delegationArguments(upstreamLifetime: Int) -> [String] {
        [
            "--client-id", clientID, "--client-secret", clientSecret,
            "--refresh-token", "\(parentRefreshToken)=\(parentSubject)",
            "--upstream-token", "\(parentAccessToken)=\(parentSubject)",
            "--obo-scope", oboScope, "--exchange-scope", exchangeScope, "--audience", audience,
            "--resource", resource, "--upstream-lifetime", String(upstreamLifetime),
        ]
    }

    /// The fields of a correct on-behalf-of request with the parent's seeded token.
    static var goodOnBehalfOf: [(String, String)] {
        [
            ("grant_type", jwtBearerGrantType), ("assertion", parentAccessToken), ("scope", oboScope),
            ("requested_token_use", "on_behalf_of"),
        ]
    }

    /// The fields of a correct token exchange with the parent's seeded token.
    static var goodTokenExchange: [(String, String)] {
        [
            ("grant_type", tokenExchangeGrantType), ("subject_token", parentAccessToken),
            ("subject_token_type", accessTokenType), ("resource", resource), ("audience", audience),
            ("scope", exchangeScope),
        ]
    }

    /// POSTs `fields` to /token as a form, authenticated with HTTP Basic when `basic` is given.
    func token(_ fields: [(String, String)], basic: (String, String)? = (clientID, clientSecret)) async throws
        -> Reply
    {
        let allowed = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        func escape(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        let form = fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
        var request = URLRequest(url: tokenURL, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        if let (id, secret) = basic {
            let pair = Data("\(escape(id)):\(escape(secret))".utf8).base64EncodedString()
            request.setValue("Basic \(pair)", forHTTPHeaderField: "Authorization")
        }
        request.httpBody = Data(form.utf8)
        return try await send(request)
    }
}
