import Foundation
import Synchronization

@testable import TokentopCore

/// An authorization server behind the HTTP transport seam: the authorization code grant with PKCE (RFC 7636) and
/// the device authorization grant (RFC 8628), answering with RFC 6749 bodies.
///
/// The test plays the user: it approves a browser sign-in with ``authorize(_:)`` (and then follows the redirect to
/// tokentop's real loopback listener), or decides a device code with ``decide(_:)``. Every value is fake.
final class SignInProvider: HTTPTransport {
    static let authorizeURL = URL(string: "https://signin.sandbox.invalid/authorize?prompt=consent")!
    static let tokenURL = URL(string: "https://signin.sandbox.invalid/token")!
    static let deviceURL = URL(string: "https://signin.sandbox.invalid/device_authorization")!
    static let verificationURI = "https://signin.sandbox.invalid/activate"
    static let clientID = "fake-signin-client"
    static let clientSecret = "fake-signin-client-secret-0001"

    /// What the device code's user decided.
    enum Decision: Sendable {
        case pending, approve, deny, expire
    }

    private struct State {
        /// Authorization codes issued, with the PKCE challenge and redirect URI they were issued for.
        var codes: [String: (challenge: String, redirectURI: String)] = [:]
        var decision = Decision.pending
        /// Errors answered to the next device polls, before the decision counts; a number is an HTTP status
        /// answered with a gateway's HTML page.
        var scriptedPolls: [String] = []
        /// The HTTP status every later poll gets, once the scripted ones are spent, whatever the decision.
        var failingPollStatus: Int?
        var polls = 0
        var serial = 0
        var requests: [HTTPRequest] = []
        var deviceInterval = 5.0
        var deviceLifetime = 900
        var refreshTokenIssued = true
        /// The `email` the answer's ID token names; nil sends no ID token.
        var signedInEmail: String?
        var deviceAuthorizationDelay: Double = 0
    }

    private let state = Mutex(State())
    /// Called on every device poll, so a test can let time pass as a real wait would.
    let onPoll: (@Sendable () -> Void)?

    init(onPoll: (@Sendable () -> Void)? = nil) { self.onPoll = onPoll }

    /// Every request received, oldest first.
    var requests: [HTTPRequest] { state.withLock { $0.requests } }
    /// How many times the device code was polled.
    var polls: Int { state.withLock { $0.polls } }

    func decide(_ decision: Decision) { state.withLock { $0.decision = decision } }
    func script(polls errors: [String]) { state.withLock { $0.scriptedPolls = errors } }
    /// From now on, once the scripted answers are spent, every poll gets `status` (a failing gateway).
    func failPolls(status: Int) { state.withLock { $0.failingPollStatus = status } }
    func setDevice(interval: Double, lifetime: Int) {
        state.withLock {
            $0.deviceInterval = interval
            $0.deviceLifetime = lifetime
        }
    }
    func issueRefreshTokens(_ issue: Bool) { state.withLock { $0.refreshTokenIssued = issue } }
    /// From now on the device authorization endpoint answers only after `seconds` (or never, when the request's
    /// task is cancelled first).
    func delayDeviceAuthorization(seconds: Double) { state.withLock { $0.deviceAuthorizationDelay = seconds } }
    /// From now on the answers carry an OpenID Connect ID token naming `email` (unsigned: only its claims count).
    func signIn(as email: String) { state.withLock { $0.signedInEmail = email } }

    /// The user signs in and consents: returns the code and the redirect the browser would follow.
    func authorize(_ url: URL) throws -> URL {
        let query = Self.query(URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery ?? "")
        guard let challenge = query["code_challenge"], query["code_challenge_method"] == "S256",
            let redirect = query["redirect_uri"], let stateValue = query["state"]
        else { throw SignInError("the authorization URL lacks a PKCE challenge, redirect_uri or state") }
        let code = state.withLock { state -> String in
            state.serial += 1
            let code = "fake-code-\(state.serial)"
            state.codes[code] = (challenge, redirect)
            return code
        }
        return URL(string: "\(redirect)?code=\(code)&state=\(stateValue)")!
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        state.withLock { $0.requests.append(request) }
        let form = Self.query(String(decoding: request.body, as: UTF8.self))
        switch request.url.path {
        case "/device_authorization":
            let (interval, lifetime, delay) = state.withLock {
                ($0.deviceInterval, $0.deviceLifetime, $0.deviceAuthorizationDelay)
            }
            if delay > 0 { try await Task.sleep(for: .seconds(delay)) }
            return Self.json(
                200,
                """
                {"device_code":"fake-device-code-0001","user_code":"WDJB-MJHT",
                 "verification_uri":"\(Self.verificationURI)",
                 "verification_uri_complete":"\(Self.verificationURI)?user_code=WDJB-MJHT",
                 "expires_in":\(lifetime),"interval":\(interval)}
                """)
        case "/token":
            guard authenticated(request, form) else { return Self.json(401, #"{"error":"invalid_client"}"#) }
            switch form["grant_type"] {
            case "authorization_code": return exchange(form)
            case "urn:ietf:params:oauth:grant-type:device_code": return poll(form)
            default: return Self.json(400, #"{"error":"unsupported_grant_type"}"#)
            }
        default:
            return HTTPResponse(status: 404)
        }
    }

    private func exchange(_ form: [String: String]) -> HTTPResponse {
        let issued = state.withLock { $0.codes.removeValue(forKey: form["code"] ?? "") }
        guard let issued, let verifier = form["code_verifier"], form["redirect_uri"] == issued.redirectURI,
            Self.challenge(verifier) == issued.challenge
        else {
            return Self.json(400, #"{"error":"invalid_grant","error_description":"Invalid code or verifier."}"#)
        }
        return tokens()
    }

    private func poll(_ form: [String: String]) -> HTTPResponse {
        onPoll?()
        let (scripted, failing, decision) = state.withLock { state -> (String?, Int?, Decision) in
            state.polls += 1
            let scripted = state.scriptedPolls.isEmpty ? nil : state.scriptedPolls.removeFirst()
            return (scripted, state.failingPollStatus, state.decision)
        }
        guard form["device_code"] == "fake-device-code-0001" else {
            return Self.json(400, #"{"error":"invalid_grant"}"#)
        }
        if let status = scripted.flatMap({ Int($0) }) ?? (scripted == nil ? failing : nil) {
            // A gateway's page that quotes the request, device code and all: none of it may reach a message.
            let page =
                "<html><body>HTTP \(status) from the gateway: upstream timed out on "
                + "device_code=\(form["device_code"] ?? "")</body></html>"
            return HTTPResponse(status: status, headers: ["Content-Type": "text/html"], body: Data(page.utf8))
        }
        if let scripted { return Self.json(400, #"{"error":"\#(scripted)"}"#) }
        switch decision {
        case .pending: return Self.json(400, #"{"error":"authorization_pending"}"#)
        case .deny: return Self.json(400, #"{"error":"access_denied"}"#)
        case .expire: return Self.json(400, #"{"error":"expired_token"}"#)
        case .approve: return tokens()
        }
    }

    private func tokens() -> HTTPResponse {
        let (serial, refresh, email) = state.withLock { state -> (Int, Bool, String?) in
            state.serial += 1
            return (state.serial, state.refreshTokenIssued, state.signedInEmail)
        }
        var refreshMember = refresh ? #","refresh_token":"fake-refresh-token-new-\#(serial)""# : ""
        if let email {
            let claims = Data(#"{"iss":"https://signin.sandbox.invalid","sub":"u-\#(serial)","email":"\#(email)"}"#.utf8)
            let payload = claims.base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            refreshMember += #","id_token":"eyJhbGciOiJub25lIn0.\#(payload).""#
        }
        return Self.json(
            200,
            #"{"access_token":"fake-access-token-new-\#(serial)","token_type":"Bearer","expires_in":3600,"#
                + #""scope":"read write"\#(refreshMember)}"#)
    }

    private func authenticated(_ request: HTTPRequest, _ form: [String: String]) -> Bool {
        let basic = "Basic " + Data("\(Self.clientID):\(Self.clientSecret)".utf8).base64EncodedString()
        return request.header("Authorization") == basic
    }

    /// The S256 challenge; tokentop's own function, which PKCETests holds to RFC 7636's published example.
    static func challenge(_ verifier: String) -> String { PKCE.challenge(for: verifier) }

    static func json(_ status: Int, _ body: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(body.utf8))
    }

    static func query(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let decode = { (s: String) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? s }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}

struct SignInError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
