import Foundation

/// One authorization request of the code flow (RFC 6749 §4.1.1 with RFC 7636's PKCE), and the check of the
/// redirect that answers it (§4.1.2).
struct AuthorizationRequest: Sendable {
    let integration: Integration
    let redirectURI: String
    let scopes: [String]
    let state: String
    let pkce: PKCE

    /// A request with a fresh `state` (256 bits) and PKCE verifier.
    /// - Throws: ``ReauthFailure`` when the random number generator fails.
    init(integration: Integration, redirectURI: String, scopes: [String]) throws(ReauthFailure) {
        self.init(
            integration: integration, redirectURI: redirectURI, scopes: scopes,
            state: try RandomToken.make(bytes: 32), pkce: try PKCE.generate())
    }

    init(integration: Integration, redirectURI: String, scopes: [String], state: String, pkce: PKCE) {
        self.integration = integration
        self.redirectURI = redirectURI
        self.scopes = scopes
        self.state = state
        self.pkce = pkce
    }

    /// The URL the user opens: the authorization endpoint with the request's parameters added to any it has.
    ///
    /// It holds the client id, the redirect URI, the scopes, `state` and the PKCE challenge; never the verifier
    /// or a secret.
    /// - Throws: ``ReauthFailure`` with `configuration` when the integration has no authorization endpoint.
    func url() throws(ReauthFailure) -> URL {
        guard let endpoint = integration.authorizationURL,
            var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)
        else {
            throw ReauthFailure(
                .configuration, "integration \(integration.id) has no authorization_url to sign in at")
        }
        var fields = [
            ("response_type", "code"), ("client_id", integration.clientID), ("redirect_uri", redirectURI),
        ]
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        fields += [("state", state), ("code_challenge", pkce.challenge), ("code_challenge_method", PKCE.method)]
        let added = fields.map { "\(FormEncoding.escape($0.0))=\(FormEncoding.escape($0.1))" }.joined(separator: "&")
        let existing = components.percentEncodedQuery.map { $0.isEmpty ? "" : $0 + "&" } ?? ""
        components.percentEncodedQuery = existing + added
        guard let url = components.url else {
            throw ReauthFailure(
                .configuration, "integration \(integration.id)'s authorization_url cannot take query parameters")
        }
        return url
    }

    /// The authorization code in a redirect's parameters, or why there is none.
    ///
    /// `state` is checked first: a redirect that does not answer this request says nothing about it, not even an
    /// error (RFC 6749 §10.12).
    func code(from parameters: [String: String]) -> Result<String, ReauthFailure> {
        guard let received = parameters["state"], Self.constantTimeEqual(received, state) else {
            let what = parameters["state"] == nil ? "no state" : "a state other than the one tokentop sent"
            return .failure(
                ReauthFailure(
                    .wrongState,
                    "the redirect to \(redirectURI) carried \(what), so it does not answer this sign-in (a stale "
                        + "browser tab, or a forged request); it was refused and nothing was stored; run the "
                        + "re-auth again"))
        }
        if let error = parameters["error"] {
            let code = SafeText.clean(error)
            let description = parameters["error_description"].map { SecretMasking.mask(SafeText.clean($0)) }
            let providerError = ProviderError(
                kind: code == "access_denied" ? .invalidGrant : .configuration, error: code,
                errorDescription: description)
            if code == "access_denied" {
                return .failure(
                    ReauthFailure(
                        .denied,
                        "the user declined the consent (access_denied"
                            + (description.map { ": \($0)" } ?? "") + "); nothing was stored",
                        providerError: providerError))
            }
            return .failure(
                ReauthFailure(
                    .provider, "the provider refused the sign-in: \(providerError.summary); nothing was stored",
                    providerError: providerError))
        }
        guard let code = parameters["code"], !code.isEmpty else {
            return .failure(
                ReauthFailure(
                    .provider,
                    "the redirect to \(redirectURI) carried neither a code nor an error; nothing was stored"))
        }
        return .success(code)
    }

    /// The page the browser shows for a redirect with `parameters`.
    func page(for parameters: [String: String]) -> LoopbackListener.Page {
        switch code(from: parameters) {
        case .success:
            return LoopbackListener.Page(
                status: 200,
                html: LoopbackListener.page(
                    title: "Signed in",
                    text: "tokentop has the sign-in. You can close this tab and return to "
                        + "the terminal."))
        case .failure(let failure):
            return LoopbackListener.Page(
                status: failure.code == .wrongState ? 403 : 200,
                html: LoopbackListener.page(
                    title: "Sign-in not completed", text: failure.message + ". You can close this tab."))
        }
    }

    /// Compares without stopping at the first difference, so the time taken says nothing about `expected`.
    static func constantTimeEqual(_ received: String, _ expected: String) -> Bool {
        let a = Array(received.utf8)
        let b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
