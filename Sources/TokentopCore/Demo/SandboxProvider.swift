import Foundation
import Synchronization

/// The demo's in-process providers: real RFC 6749, 7009, 7523, 8628 and 8693 exchanges, GitHub's installation-token
/// endpoint and an API that checks keys, answered through the same parsers as the network path, with no network.
///
/// It serves every host under `sandbox.invalid` (a name that can never resolve, RFC 2606). Each provider has a
/// behaviour, so that the demo shows refreshes, rotation, a transient outage and a refused grant while you watch.
public final class SandboxProvider: HTTPTransport {
    /// How one sandbox provider answers.
    public struct Behaviour: Sendable {
        /// Whether a refresh answer carries a new refresh token (and the old one stops working).
        public var rotates: Bool
        /// Lifetimes of issued access tokens, in seconds.
        public var lifetimes: ClosedRange<Int>
        /// While the clock is inside this window the token endpoint answers 503 with `Retry-After`.
        public var outage: ClosedRange<Date>?

        public init(rotates: Bool, lifetimes: ClosedRange<Int> = 60...600, outage: ClosedRange<Date>? = nil) {
            self.rotates = rotates
            self.lifetimes = lifetimes
            self.outage = outage
        }
    }

    struct Client {
        var secret: String
        var provider: String
    }

    /// A key the sandbox trusts for signed assertions: a service account's (JWT bearer) or a GitHub App's.
    struct TrustedKey {
        var provider: String
        var key: SigningKey
        /// For a GitHub App, the installations that exist; any other id answers 404.
        var installations: Set<String> = []
    }

    struct Registry {
        var clients: [String: Client] = [:]
        /// Live refresh tokens, by value, mapped to the client id that owns them.
        var refreshTokens: [String: String] = [:]
        var accessTokens: Set<String> = []
        var behaviours: [String: Behaviour] = [:]
        /// Service accounts by `iss`, whose assertions the token endpoint accepts (RFC 7523).
        var serviceAccounts: [String: TrustedKey] = [:]
        /// GitHub Apps by app id, whose JWTs buy installation tokens.
        var apps: [String: TrustedKey] = [:]
        /// API keys and `user:password` pairs the probe endpoint accepts, by value, mapped to their provider.
        var staticSecrets: [String: String] = [:]
        /// Where each provider's API expects its key; nil means `Authorization: Bearer`.
        var placements: [String: APIKeyPlacement] = [:]
        /// Device codes issued and not yet exchanged (RFC 8628), by value.
        var deviceCodes: [String: DeviceCode] = [:]
    }

    let registry = Mutex(Registry())
    let clock: any TimeSource
    /// Simulated network latency, in seconds, so that `refreshing` is visible.
    private let latency: ClosedRange<Double>

    public init(clock: any TimeSource, latency: ClosedRange<Double> = 0.3...1.2) {
        self.clock = clock
        self.latency = latency
    }

    /// The token URL of sandbox provider `name`.
    public static func tokenURL(_ name: String) -> URL { URL(string: "https://\(name).sandbox.invalid/oauth/token")! }
    /// The revocation URL of sandbox provider `name`.
    public static func revocationURL(_ name: String) -> URL {
        URL(string: "https://\(name).sandbox.invalid/oauth/revoke")!
    }
    /// The API root of sandbox provider `name`: GitHub's shape, where installation tokens are minted.
    public static func apiBase(_ name: String) -> URL { URL(string: "https://\(name).sandbox.invalid")! }
    /// The URL that answers 200 to a valid API key or basic credential of sandbox provider `name`.
    public static func probeURL(_ name: String) -> URL { URL(string: "https://\(name).sandbox.invalid/v1/me")! }

    /// Registers a provider's behaviour.
    public func addProvider(_ name: String, behaviour: Behaviour) {
        registry.withLock { $0.behaviours[name] = behaviour }
    }

    /// Registers a client of `provider`.
    public func addClient(id: String, secret: Secret, provider: String) {
        registry.withLock { $0.clients[id] = Client(secret: secret.value, provider: provider) }
    }

    /// Makes `token` a live refresh token of `clientID`.
    public func issueRefreshToken(_ token: Secret, clientID: String) {
        registry.withLock { $0.refreshTokens[token.value] = clientID }
    }

    /// Makes `token` a live access token, one that on-behalf-of and token exchange accept as their subject.
    public func issueAccessToken(_ token: Secret) {
        registry.withLock { _ = $0.accessTokens.insert(token.value) }
    }

    /// Trusts `key` for JWT bearer assertions whose `iss` is `issuer`, at `provider`'s token endpoint.
    public func addServiceAccount(_ issuer: String, key: SigningKey, provider: String) {
        registry.withLock { $0.serviceAccounts[issuer] = TrustedKey(provider: provider, key: key) }
    }

    /// Trusts `key` for the JWTs of GitHub App `appID` at `provider`, which has the given installations.
    public func addGitHubApp(_ appID: String, key: SigningKey, provider: String, installations: Set<String>) {
        registry.withLock {
            $0.apps[appID] = TrustedKey(provider: provider, key: key, installations: installations)
        }
    }

    /// Accepts `secret` (an API key or bot token, or `user:password`) at `provider`'s probe URL, read from where
    /// `placement` says (nil: `Authorization: Bearer`; basic auth always comes as `Authorization: Basic`).
    public func acceptStaticSecret(_ secret: Secret, provider: String, placement: APIKeyPlacement? = nil) {
        registry.withLock { registry in
            registry.staticSecrets[secret.value] = provider
            if let placement { registry.placements[provider] = placement }
        }
    }

    /// A fresh random token with a recognisable, obviously fake prefix.
    public static func makeToken(_ prefix: String) -> Secret {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return Secret(prefix + String((0..<32).map { _ in alphabet[Int(generator.next() % 36)] }))
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if latency.upperBound > 0 { try await clock.sleep(seconds: Double.random(in: latency)) }
        guard let host = request.url.host, host.hasSuffix(".sandbox.invalid") else {
            throw URLError(.cannotFindHost)
        }
        let provider = String(host.dropLast(".sandbox.invalid".count))
        let form = FormEncoding.decode(request.body)
        let now = clock.now()
        return registry.withLock { registry in
            if let outage = registry.behaviours[provider]?.outage, outage.contains(now) {
                return HTTPResponse(
                    status: 503, headers: ["Content-Type": "text/html", "Retry-After": "4"],
                    body: Data("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>".utf8))
            }
            let path = request.url.path
            if request.method == "GET", path == Self.probeURL(provider).path {
                return probe(request, provider: provider, registry: registry)
            }
            if path.hasPrefix("/app/installations/") {
                return installationToken(request, provider: provider, now: now, registry: &registry)
            }
            if path == "/oauth/token", form["grant_type"] == OAuthClient.jwtBearerGrantType,
                form["requested_token_use"] == nil
            {
                // RFC 7523 §2.1 as Google takes it: the signed assertion authenticates the service account.
                return jwtBearer(form, provider: provider, now: now, registry: &registry)
            }
            guard let clientID = authenticate(request, form: form, registry: registry, provider: provider) else {
                return Self.error(401, "invalid_client", "Client authentication failed.")
            }
            switch path {
            case Self.deviceAuthorizationURL(provider).path:
                return deviceAuthorization(form, clientID: clientID, provider: provider, now: now, registry: &registry)
            case "/oauth/token" where form["grant_type"] == OAuthClient.deviceCodeGrantType:
                return deviceToken(form, clientID: clientID, provider: provider, now: now, registry: &registry)
            case "/oauth/token": return token(form, clientID: clientID, provider: provider, registry: &registry)
            case "/oauth/revoke":
                if let token = form["token"] {
                    registry.refreshTokens[token] = nil
                    registry.accessTokens.remove(token)
                }
                return HTTPResponse(status: 200)
            default: return HTTPResponse(status: 404, body: Data("not found".utf8))
            }
        }
    }

    private func authenticate(_ request: HTTPRequest, form: [String: String], registry: Registry, provider: String)
        -> String?
    {
        var id = form["client_id"]
        var secret = form["client_secret"]
        if let header = request.header("Authorization"), header.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
        {
            let parts = decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            id = parts.first.flatMap { String($0).removingPercentEncoding }
            secret = parts.count > 1 ? String(parts[1]).removingPercentEncoding : nil
        }
        guard let id, let client = registry.clients[id], client.provider == provider, client.secret == secret else {
            return nil
        }
        return id
    }

    private func token(_ form: [String: String], clientID: String, provider: String, registry: inout Registry)
        -> HTTPResponse
    {
        let behaviour = registry.behaviours[provider] ?? Behaviour(rotates: false)
        var body: [String: Any] = ["token_type": "Bearer", "expires_in": Int.random(in: behaviour.lifetimes)]
        switch form["grant_type"] {
        case "refresh_token":
            guard let presented = form["refresh_token"], registry.refreshTokens[presented] == clientID else {
                return Self.error(400, "invalid_grant", "The refresh token is invalid, expired or revoked.")
            }
            if behaviour.rotates {
                registry.refreshTokens[presented] = nil
                let next = Self.makeToken("demo-rt-")
                registry.refreshTokens[next.value] = clientID
                body["refresh_token"] = next.value
            }
        case "client_credentials":
            break
        case OAuthClient.jwtBearerGrantType?:
            // Microsoft's on-behalf-of: the upstream token the middle tier received is the assertion.
            guard form["requested_token_use"] == "on_behalf_of" else {
                return Self.error(400, "invalid_request", "requested_token_use must be on_behalf_of.")
            }
            guard let assertion = form["assertion"], registry.accessTokens.contains(assertion) else {
                return Self.error(400, "invalid_grant", "AADSTS50013: Assertion failed signature validation.")
            }
        case OAuthClient.tokenExchangeGrantType?:
            // RFC 8693 §2.1: the subject token must be one this server issued, of the type it says it is.
            guard form["subject_token_type"] == OAuthClient.accessTokenType else {
                return Self.error(400, "invalid_request", "subject_token_type must be an access token type.")
            }
            guard let subject = form["subject_token"], registry.accessTokens.contains(subject) else {
                return Self.error(400, "invalid_grant", "The subject token is invalid or expired.")
            }
            body["issued_token_type"] = OAuthClient.accessTokenType
        case let other:
            return Self.error(400, "unsupported_grant_type", "Grant type \(other ?? "(none)") is not supported.")
        }
        let access = Self.makeToken("demo-at-")
        registry.accessTokens.insert(access.value)
        body["access_token"] = access.value
        if let scope = form["scope"] { body["scope"] = scope }
        return Self.json(200, body)
    }

    static func error(_ status: Int, _ code: String, _ description: String) -> HTTPResponse {
        json(status, ["error": code, "error_description": description])
    }

    static func json(_ status: Int, _ body: [String: Any]) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
        return HTTPResponse(
            status: status, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: data)
    }
}
