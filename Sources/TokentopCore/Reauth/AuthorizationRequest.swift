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
    /// error (RFC 6749 §10.12). The listener already ignores such a redirect (see ``reply(for:)``); the check here
    /// keeps a code that came with another state from ever being exchanged.
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

    /// What the listener does with a redirect carrying `parameters`, and the page the browser shows for it.
    ///
    /// A request with another `state`, or none, does not answer this request: any program on this machine can send
    /// one, so it must not end the sign-in (nor may its code be exchanged). It gets a 400 page and is ignored, and
    /// the listener keeps waiting for the real redirect. The page names no value the request carried. Every other
    /// redirect ends the wait: with the code, or with the provider's error (`access_denied` and the others).
    func reply(for parameters: [String: String]) -> LoopbackListener.Reply {
        switch code(from: parameters) {
        case .success:
            return .finish(
                LoopbackListener.Page(
                    status: 200,
                    html: LoopbackListener.page(
                        title: "Signed in",
                        text: "tokentop has the sign-in. You can close this tab and return to the terminal.")))
        case .failure(let failure) where failure.code == .wrongState:
            let what = parameters["state"] == nil ? "carries no state" : "carries another state"
            let page = LoopbackListener.Page(
                status: 400,
                html: LoopbackListener.page(
                    title: "Not this sign-in",
                    text: "This sign-in link is not the one tokentop is waiting for: it \(what). tokentop keeps "
                        + "waiting for the sign-in it started; finish that one from the URL tokentop shows, or "
                        + "close this tab."))
            return .ignore(page, reason: parameters["state"] == nil ? "without a state" : "with another state")
        case .failure(let failure):
            return .finish(
                LoopbackListener.Page(
                    status: 200,
                    html: LoopbackListener.page(
                        title: "Sign-in not completed", text: failure.message + ". You can close this tab.")))
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
