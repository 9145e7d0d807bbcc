/// How a user signs in again from tokentop.
public enum ReauthMethod: String, Sendable, Equatable, CaseIterable {
    /// Authorization code with PKCE (RFC 7636) in a browser, redirected to a loopback listener (RFC 8252 §7.3).
    case authorizationCode = "authorization_code"
    /// The device authorization grant (RFC 8628): a user code entered on any device.
    case deviceCode = "device_code"

    /// How the method reads in the dashboard and the CLI.
    public var title: String {
        switch self {
        case .authorizationCode: "browser sign-in (authorization code with PKCE)"
        case .deviceCode: "device code (RFC 8628)"
        }
    }

    /// The method for `connection` under `integration`: the device flow when the integration has a device
    /// endpoint, else the browser flow.
    /// - Throws: ``ReauthFailure`` with `notInteractive` when no user signs in to this connection, or
    ///   `configuration` when the integration has no endpoint to sign in at.
    public static func choose(
        for connection: Connection, integration: Integration
    ) throws(ReauthFailure) -> ReauthMethod {
        guard connection.scope == .user else {
            throw ReauthFailure(
                .notInteractive,
                "\(connection.id) is \(connection.scope == .org ? "an" : "a") \(connection.scope.rawValue) connection: "
                    + "no user signs in to it here; \(connection.scope.reauthActor)")
        }
        guard connection.credential == .oauth2 else {
            throw ReauthFailure(
                .notInteractive,
                "\(connection.id) holds \(connection.credential.withArticle) credential, which no sign-in renews; "
                    + "import the new one")
        }
        if integration.deviceAuthorizationURL != nil { return .deviceCode }
        if integration.authorizationURL != nil { return .authorizationCode }
        throw ReauthFailure(
            .configuration,
            "integration \(integration.id) has neither authorization_url nor device_authorization_url; add one to "
                + "its entry in the import file and import it again to let users sign in from tokentop")
    }
}
