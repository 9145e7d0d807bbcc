import Foundation
import Testing

@testable import TokentopCore

@Suite struct AuthorizationRequestTests {
    static let integration = Integration(
        id: "acme", provider: "acme", tokenURL: URL(string: "https://auth.acme.example/token")!,
        clientID: "fake client/id", clientAuth: .clientSecretBasic, scopes: ["read", "write"],
        authorizationURL: URL(string: "https://auth.acme.example/authorize?audience=api")!)

    static let request = AuthorizationRequest(
        integration: integration, redirectURI: "http://127.0.0.1:49152/callback", scopes: ["read", "write"],
        state: "fake-state-0001",
        pkce: PKCE(verifier: Secret("fake-verifier-0001"), challenge: PKCE.challenge(for: "fake-verifier-0001")))

    @Test func urlCarriesTheRequestAndKeepsTheEndpointsOwnParameters() throws {
        let url = try Self.request.url()
        let components = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false))
        #expect(components.host == "auth.acme.example")
        #expect(components.path == "/authorize")
        let items = Dictionary(uniqueKeysWithValues: (components.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(
            items == [
                "audience": "api", "response_type": "code", "client_id": "fake client/id",
                "redirect_uri": "http://127.0.0.1:49152/callback", "scope": "read write", "state": "fake-state-0001",
                "code_challenge": PKCE.challenge(for: "fake-verifier-0001"), "code_challenge_method": "S256",
            ])
        #expect(!url.absoluteString.contains("fake-verifier-0001"))
    }

    @Test func withoutAnAuthorizationEndpointThereIsNoURL() {
        var integration = Self.integration
        integration.authorizationURL = nil
        let request = AuthorizationRequest(
            integration: integration, redirectURI: "http://127.0.0.1/callback", scopes: [], state: "s",
            pkce: Self.request.pkce)
        #expect(throws: ReauthFailure.self) { try request.url() }
    }

    @Test func theRightStateAndACodeGiveTheCode() throws {
        let result = Self.request.code(from: ["code": "fake-code-0001", "state": "fake-state-0001"])
        #expect(try result.get() == "fake-code-0001")
    }

    @Test(arguments: [
        (["code": "fake-code-0001", "state": "fake-state-0002"], ReauthFailure.Code.wrongState),
        (["code": "fake-code-0001"], .wrongState),
        (["error": "access_denied", "state": "fake-state-0002"], .wrongState),
        (["error": "access_denied", "error_description": "The user said no", "state": "fake-state-0001"], .denied),
        (["error": "invalid_scope", "state": "fake-state-0001"], .provider),
        (["state": "fake-state-0001"], .provider),
    ])
    func refusedRedirects(parameters: [String: String], expected: ReauthFailure.Code) {
        guard case .failure(let failure) = Self.request.code(from: parameters) else {
            Issue.record("accepted \(parameters)")
            return
        }
        #expect(failure.code == expected)
        #expect(failure.message.contains("nothing was stored"))
    }

    @Test func aDeniedConsentSaysSoInTheProvidersWords() throws {
        let parameters = [
            "error": "access_denied", "error_description": "The user said no", "state": "fake-state-0001",
        ]
        guard case .failure(let failure) = Self.request.code(from: parameters) else { throw SignInError("accepted") }
        #expect(
            failure.message == "the user declined the consent (access_denied: The user said no); nothing was stored")
        #expect(failure.providerError?.error == "access_denied")
    }

    @Test func theBrowserIsToldToCloseTheTabOrWhyNot() {
        let good = Self.request.reply(for: ["code": "fake-code-0001", "state": "fake-state-0001"])
        guard case .finish(let page) = good else {
            Issue.record("not taken: \(good)")
            return
        }
        #expect(page.status == 200)
        #expect(page.html.contains("You can close this tab"))
        let denied = Self.request.reply(for: ["error": "access_denied", "state": "fake-state-0001"])
        guard case .finish(let deniedPage) = denied else {
            Issue.record("a denial with the right state did not end the sign-in: \(denied)")
            return
        }
        #expect(deniedPage.html.contains("the user declined the consent"))
    }

    /// A redirect with another state, or none, is ignored with a 400 page that repeats none of its values: its code
    /// may be a real one, and neither belongs in a page.
    @Test(arguments: [
        (["code": "fake-code-0001", "state": "fake-state-0002"], "with another state", "another state"),
        (["code": "fake-code-0001"], "without a state", "no state"),
        (["error": "access_denied", "state": "fake-state-0002"], "with another state", "another state"),
    ])
    func aRedirectForAnotherSignInIsIgnored(parameters: [String: String], reason: String, carries: String) {
        guard case .ignore(let page, let why) = Self.request.reply(for: parameters) else {
            Issue.record("taken: \(parameters)")
            return
        }
        #expect(why == reason)
        #expect(page.status == 400)
        #expect(page.html.contains("This sign-in link is not the one tokentop is waiting for: it carries \(carries)."))
        for value in parameters.values { #expect(!page.html.contains(value)) }
        #expect(!page.html.contains("fake-state-0001"))
    }

    @Test(arguments: [
        (nil as String?, "127.0.0.1", 0 as UInt16, "/callback"),
        ("http://127.0.0.1/callback", "127.0.0.1", 0, "/callback"),
        ("http://127.0.0.1:8765/cb", "127.0.0.1", 8765, "/cb"),
        ("http://localhost:9000/oauth/done", "localhost", 9000, "/oauth/done"),
        ("http://127.0.0.1:8765", "127.0.0.1", 8765, "/"),
    ])
    func loopbackRedirects(registered: String?, host: String, port: UInt16, path: String) throws {
        let redirect = try LoopbackRedirect(registered: registered, integrationID: "acme")
        #expect(redirect == LoopbackRedirect(host: host, port: port, path: path))
    }

    @Test(arguments: [
        "https://app.example.com/callback", "http://app.example.com/callback", "https://127.0.0.1/callback",
        "http://127.0.0.1/callback?x=1", "com.example.app:/callback",
    ])
    func redirectsTokentopCannotServeAreRefused(registered: String) {
        #expect {
            try LoopbackRedirect(registered: registered, integrationID: "acme")
        } throws: { error in
            let failure = error as? ReauthFailure
            return failure?.code == .configuration
                && failure?.message.contains("integration acme's redirect_uri")
                    == true
        }
    }

    @Test func theIPv6LoopbackIsNamedAsSuch() throws {
        let failure = try #require(throws: ReauthFailure.self) {
            try LoopbackRedirect(registered: "http://[::1]:8765/cb", integrationID: "acme")
        }
        #expect(
            failure.message.hasPrefix(
                "integration acme's redirect_uri http://[::1]:8765/cb is the IPv6 loopback, where tokentop does not "
                    + "listen; register http://127.0.0.1 instead"), "\(failure.message)")
    }
}
