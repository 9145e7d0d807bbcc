import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The sign-in side of the django-oauth-toolkit fixture (`Tests/Interop/dot`): its authorization and device
/// endpoints, the clients made for re-auth, and the fixture user, played by `play_user.py` in a `requests`
/// session: it logs in to Django, consents or denies, and follows the redirect to tokentop's loopback listener.
///
/// The values come from `TOKENTOP_OAUTH_*` when `scripts/test` exported them, else from the fixture's fixed fake
/// values (`tokentop_dot/fixture.py`), which `OAuthServerFixture` started the server with.
struct SignInServer: Sendable {
    let server: OAuthServerFixture
    let authorizeURL: URL
    let deviceURL: URL
    let userClientID: String
    let userClientSecret: String
    let userRedirectURI: String
    let deviceClientID: String
    let deviceShortClientID: String
    let python: String

    static func shared() async throws -> SignInServer {
        let server = try await OAuthServerFixture.shared()
        let environment = ProcessInfo.processInfo.environment
        func value(_ key: String, _ fallback: String) -> String {
            environment[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        let base = server.baseURL.absoluteString
        let venv = value(
            "TOKENTOP_INTEROP_VENV", OAuthServerFixture.packageRoot.appendingPathComponent(".build/interop-venv").path)
        let signIn = SignInServer(
            server: server,
            authorizeURL: URL(string: value("TOKENTOP_OAUTH_AUTHORIZE_URL", base + "/o/authorize/"))!,
            deviceURL: URL(string: value("TOKENTOP_OAUTH_DEVICE_URL", base + "/o/device-authorization/"))!,
            userClientID: value("TOKENTOP_OAUTH_USER_CLIENT_ID", "tokentop-user"),
            userClientSecret: value("TOKENTOP_OAUTH_USER_CLIENT_SECRET", "fake-user-client-secret-0001"),
            userRedirectURI: value("TOKENTOP_OAUTH_USER_REDIRECT_URI", "http://127.0.0.1/callback"),
            deviceClientID: value("TOKENTOP_OAUTH_DEVICE_CLIENT_ID", "tokentop-device"),
            deviceShortClientID: value("TOKENTOP_OAUTH_DEVICE_SHORT_CLIENT_ID", "tokentop-device-short"),
            python: value("TOKENTOP_OAUTH_PYTHON", venv + "/bin/python"))
        guard FileManager.default.isExecutableFile(atPath: signIn.python) else {
            throw OAuthServerFixture.Failure(
                "no Python at \(signIn.python) to play the user; scripts/oauth-server start builds the venv")
        }
        return signIn
    }

    /// The fixture user signs in at `url` and consents (or denies); the browser then follows the redirect, or
    /// with `follow: false` the redirect is returned in `location` without being followed.
    func consent(to url: String, deny: Bool = false, follow: Bool = true) throws -> [String: Any] {
        var arguments = ["authorize", url]
        if deny { arguments.append("--deny") }
        if !follow { arguments.append("--no-follow") }
        return try playUser(arguments)
    }

    /// The fixture user enters `userCode` and accepts (or denies) the device.
    func decide(userCode: String, deny: Bool = false) throws -> [String: Any] {
        try playUser(["device", userCode] + (deny ? ["--deny"] : []))
    }

    private func playUser(_ arguments: [String]) throws -> [String: Any] {
        let script = OAuthServerFixture.packageRoot.appendingPathComponent("Tests/Interop/dot/play_user.py").path
        let run = try Binary.run(
            executable: python, [script, server.baseURL.absoluteString] + arguments)
        guard run.status == 0,
            let object = try JSONSerialization.jsonObject(with: run.output) as? [String: Any]
        else { throw OAuthServerFixture.Failure("play_user.py \(arguments[0]) failed: \(run.stderr)") }
        return object
    }

    /// An import file with integrations for the browser flow (`dot-user`), the device flow (`dot-device`,
    /// `dot-device-short`) and the given connections, all user connections of the fixture user.
    func importFile(
        sandbox: Sandbox, userClientSecret secret: String? = nil, redirectURI: String? = nil,
        connections: [(id: String, integration: String)]
    ) throws -> String {
        let token = server.tokenURL.absoluteString
        let integrations: [[String: Any]] = [
            [
                "id": "dot-user", "provider": "django-oauth-toolkit", "token_url": token,
                "authorization_url": authorizeURL.absoluteString, "client_id": userClientID,
                "client_secret": secret ?? userClientSecret, "client_auth": "client_secret_basic",
                "scopes": ["read", "write"], "redirect_uri": redirectURI ?? userRedirectURI,
            ],
            [
                "id": "dot-device", "provider": "django-oauth-toolkit", "token_url": token,
                "device_authorization_url": deviceURL.absoluteString, "client_id": deviceClientID,
                "client_auth": "none", "scopes": ["read"],
            ],
            [
                "id": "dot-device-short", "provider": "django-oauth-toolkit", "token_url": token,
                "device_authorization_url": deviceURL.absoluteString, "client_id": deviceShortClientID,
                "client_auth": "none", "scopes": ["read"],
            ],
        ]
        let entries: [[String: Any]] = connections.map { connection in
            [
                "id": connection.id, "integration": connection.integration, "scope": "user",
                "subject": server.username, "access_token": "fake-access-token-0001",
                "refresh_token": "fake-refresh-token-0001", "expires_in": 600, "granted_scopes": ["read"],
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: ["integrations": integrations, "connections": entries])
        return try sandbox.write("signin-import.json", String(decoding: data, as: UTF8.self))
    }
}
