import Foundation

/// The grants a user signs in with: the authorization code exchange (RFC 6749 §4.1.3 with RFC 7636's verifier)
/// and the device authorization grant (RFC 8628).
extension OAuthClient {
    /// The grant type of RFC 8628 §3.4.
    public static let deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

    /// Exchanges an authorization code and its PKCE verifier for tokens.
    func authorizationCode(
        integration: Integration, clientSecret: Secret?, code: Secret, redirectURI: String, verifier: Secret
    ) async -> Result<TokenGrant, ProviderError> {
        await tokenRequest(
            integration: integration, clientSecret: clientSecret,
            fields: [
                ("grant_type", "authorization_code"), ("code", code.value), ("redirect_uri", redirectURI),
                ("code_verifier", verifier.value),
            ])
    }

    /// Asks the device authorization endpoint for a device code and a user code (RFC 8628 §3.1).
    func deviceAuthorization(
        integration: Integration, clientSecret: Secret?, scopes: [String]
    ) async -> Result<DeviceAuthorization, ProviderError> {
        guard let url = integration.deviceAuthorizationURL else {
            return .failure(ProviderError(kind: .configuration, error: "no_device_authorization_endpoint"))
        }
        var fields: [(String, String)] = []
        // A confidential client authenticates in the header, but many endpoints (django-oauth-toolkit's among
        // them) still read client_id from the body; RFC 8628 §3.1 allows it there.
        if integration.clientAuth == .clientSecretBasic { fields.append(("client_id", integration.clientID)) }
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        let request: HTTPRequest
        do {
            request = try makeRequest(url: url, integration: integration, clientSecret: clientSecret, fields: fields)
        } catch {
            return .failure(error)
        }
        switch await send(request) {
        case .failure(let error): return .failure(error)
        case .success(let response):
            return DeviceAuthorization.parse(response, now: clock.now()).mapError {
                $0.redacting([clientSecret, Self.clientAssertion(in: request)])
            }
        }
    }

    /// Polls the token endpoint once with a device code (RFC 8628 §3.4).
    ///
    /// `authorization_pending`, `slow_down`, `expired_token` and `access_denied` come back as the failure's
    /// `error`, for the caller to act on.
    func deviceToken(
        integration: Integration, clientSecret: Secret?, deviceCode: Secret
    ) async -> Result<TokenGrant, ProviderError> {
        await tokenRequest(
            integration: integration, clientSecret: clientSecret,
            fields: [("grant_type", Self.deviceCodeGrantType), ("device_code", deviceCode.value)])
    }
}
