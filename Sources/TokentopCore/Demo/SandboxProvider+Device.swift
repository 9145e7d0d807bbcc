import Foundation

/// The sandbox's device authorization grant (RFC 8628): the device authorization endpoint, and the token
/// endpoint's polls with a device code.
///
/// Nobody can visit a `sandbox.invalid` page, so a pretend user approves every code ``deviceApprovalDelay``
/// seconds after it was issued, by the sandbox's clock. Until then polls get `authorization_pending`; polls that
/// come sooner than the interval get `slow_down` (and the interval grows by 5 seconds, RFC 8628 §3.5); a code past
/// its lifetime gets `expired_token`.
extension SandboxProvider {
    /// A device code that was issued and not yet exchanged.
    struct DeviceCode {
        var clientID: String
        var scope: String?
        var issuedAt: Date
        var expiresAt: Date
        /// The interval the client must keep now; `slow_down` adds 5 seconds.
        var interval: Double
        /// The last poll that was answered, or the moment of issue before the first.
        var lastPoll: Date
    }

    /// Seconds after a device code is issued until the sandbox's pretend user approves it.
    public static let deviceApprovalDelay = 8.0
    /// The polling interval the sandbox asks for: short, so the demo's sign-in ends while you watch.
    static let deviceInterval = 2
    /// How long a device code lives, in seconds.
    static let deviceLifetime = 300
    /// RFC 8628 §6.1: consonants only, without the look-alikes, so a code spells no word and reads unambiguously.
    private static let userCodeAlphabet = Array("BCDFGHJKLMNPQRSTVWXZ")

    /// The device authorization endpoint of sandbox provider `name`.
    public static func deviceAuthorizationURL(_ name: String) -> URL {
        URL(string: "https://\(name).sandbox.invalid/oauth/device_authorization")!
    }

    /// The verification page of sandbox provider `name`; its path tells the demo's viewer that nobody need go
    /// there, since the host cannot resolve.
    public static func verificationURI(_ name: String) -> URL {
        URL(string: "https://\(name).sandbox.invalid/device/a-pretend-user-approves-in-\(Int(deviceApprovalDelay))s")!
    }

    /// RFC 8628 §3.1–3.2: a new device code and user code for the authenticated client.
    func deviceAuthorization(
        _ form: [String: String], clientID: String, provider: String, now: Date, registry: inout Registry
    ) -> HTTPResponse {
        // A client that names itself in the body as well as the header must name the same client.
        if let named = form["client_id"], named != clientID {
            return Self.error(401, "invalid_client", "client_id does not match the authenticated client.")
        }
        let deviceCode = Self.makeToken("demo-device-")
        var generator = SystemRandomNumberGenerator()
        let letters = (0..<8).map { _ in Self.userCodeAlphabet[Int(generator.next() % 20)] }
        let userCode = String(letters[0..<4]) + "-" + String(letters[4...])
        registry.deviceCodes[deviceCode.value] = DeviceCode(
            clientID: clientID, scope: form["scope"], issuedAt: now,
            expiresAt: now.addingTimeInterval(Double(Self.deviceLifetime)), interval: Double(Self.deviceInterval),
            lastPoll: now)
        var complete = URLComponents(url: Self.verificationURI(provider), resolvingAgainstBaseURL: false)!
        complete.queryItems = [URLQueryItem(name: "user_code", value: userCode)]
        return Self.json(
            200,
            [
                "device_code": deviceCode.value, "user_code": userCode,
                "verification_uri": Self.verificationURI(provider).absoluteString,
                "verification_uri_complete": complete.url!.absoluteString, "expires_in": Self.deviceLifetime,
                "interval": Self.deviceInterval,
            ])
    }

    /// RFC 8628 §3.4–3.5: one poll of the token endpoint with a device code.
    func deviceToken(
        _ form: [String: String], clientID: String, provider: String, now: Date, registry: inout Registry
    ) -> HTTPResponse {
        guard let presented = form["device_code"], var code = registry.deviceCodes[presented],
            code.clientID == clientID
        else {
            return Self.error(400, "invalid_grant", "The device code is invalid or was already used.")
        }
        guard now < code.expiresAt else {
            return Self.error(400, "expired_token", "The device code has expired; start a new authorization.")
        }
        if now.timeIntervalSince(code.lastPoll) < code.interval {
            code.interval += 5
            code.lastPoll = now
            registry.deviceCodes[presented] = code
            return Self.error(400, "slow_down", "Polling too fast; wait \(Int(code.interval)) seconds between polls.")
        }
        code.lastPoll = now
        guard now >= code.issuedAt.addingTimeInterval(Self.deviceApprovalDelay) else {
            registry.deviceCodes[presented] = code
            return Self.error(400, "authorization_pending", "The user has not yet approved the code.")
        }
        // Approved: the code buys tokens once, and the new refresh token works for later refreshes.
        registry.deviceCodes[presented] = nil
        let behaviour = registry.behaviours[provider] ?? Behaviour(rotates: false)
        let access = Self.makeToken("demo-at-")
        let refresh = Self.makeToken("demo-rt-")
        registry.accessTokens.insert(access.value)
        registry.refreshTokens[refresh.value] = clientID
        var body: [String: Any] = [
            "access_token": access.value, "refresh_token": refresh.value, "token_type": "Bearer",
            "expires_in": Int.random(in: behaviour.lifetimes),
        ]
        if let scope = code.scope { body["scope"] = scope }
        return Self.json(200, body)
    }
}
