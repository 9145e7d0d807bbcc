import Foundation
import Testing

@testable import TokentopCore

struct TokenResponseParserTests {
    private func parse(_ status: Int, _ body: String, headers: [String: String] = [:]) -> Result<
        TokenGrant, ProviderError
    > {
        TokenResponseParser.parse(HTTPResponse(status: status, headers: headers, body: Data(body.utf8)))
    }

    @Test func successWithRotation() throws {
        let body =
            #"{"access_token":"fake-at-1","token_type":"bearer","expires_in":3600,"#
            + #""refresh_token":"fake-rt-2","scope":"read write"}"#
        let grant = try parse(200, body).get()
        #expect(grant.accessToken.value == "fake-at-1")
        #expect(grant.refreshToken?.value == "fake-rt-2")
        #expect(grant.expiresIn == 3600)
        #expect(grant.scopes == ["read", "write"])
        #expect(grant.tokenType == "bearer")
    }

    @Test(arguments: [
        (#""expires_in":"120""#, 120.0 as Double?),
        (#""expires_in":59.5"#, 59.5),
        (#""expires_in":null"#, nil),
        (#""expires_in":0"#, nil),
        (#""expires_in":-5"#, nil),
        (#""expires_in":1e30"#, 10 * 365 * 86_400),
    ])
    func expiresInShapes(member: String, expected: Double?) throws {
        let grant = try parse(200, #"{"access_token":"fake-at","# + member + "}").get()
        #expect(grant.expiresIn == expected)
        #expect(grant.refreshToken == nil)
    }

    @Test(arguments: [
        (
            400, #"{"error":"invalid_grant","error_description":"Token revoked"}"#, ProviderError.Kind.invalidGrant,
            "invalid_grant"
        ),
        (401, #"{"error":"invalid_client"}"#, .configuration, "invalid_client"),
        (200, #"{"error":"invalid_grant"}"#, .invalidGrant, "invalid_grant"),
        (503, #"{"error":"temporarily_unavailable"}"#, .transient, "temporarily_unavailable"),
        (503, "<html>down</html>", .transient, "server_error"),
        (429, "", .transient, "rate_limited"),
        (200, "", .malformed, "malformed_response"),
        (200, "not json at all", .malformed, "malformed_response"),
        (200, #"{"token_type":"bearer"}"#, .malformed, "malformed_response"),
        (404, "<html>nope</html>", .malformed, "malformed_response"),
    ])
    func failuresAreClassified(status: Int, body: String, kind: ProviderError.Kind, code: String) {
        guard case .failure(let error) = parse(status, body) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.kind == kind)
        #expect(error.error == code)
        #expect(error.status == status)
    }

    @Test func errorDescriptionIsKeptVerbatim() {
        guard case .failure(let error) = parse(400, #"{"error":"invalid_grant","error_description":"Token revoked"}"#)
        else { Issue.record("expected a failure"); return }
        #expect(error.errorDescription == "Token revoked")
        #expect(error.summary == "invalid_grant (HTTP 400): Token revoked")
    }

    @Test func retryAfterIsHonoured() {
        guard case .failure(let error) = parse(503, "busy", headers: ["Retry-After": "17"]) else {
            Issue.record("expected a failure"); return
        }
        #expect(error.retryAfter == 17)
    }

    @Test func malformedBodyPrefixMasksTokensAndIsCut() {
        let body = #"{"oops": "fake0123456789abcdefghijklmnop"} "# + String(repeating: "x ", count: 100)
        guard case .failure(let error) = parse(200, body) else { Issue.record("expected a failure"); return }
        let prefix = error.bodyPrefix ?? ""
        #expect(prefix.hasPrefix(#"{"oops": "[masked]"}"#))
        #expect(prefix.hasSuffix("…"))
        #expect(!prefix.contains("fake0123456789abcdefghijklmnop"))
    }

    @Test func formEncodedAnswerIsAccepted() throws {
        let grant = try parse(
            200, "access_token=fake-at-form&token_type=bearer&scope=repo",
            headers: ["Content-Type": "application/x-www-form-urlencoded"]
        ).get()
        #expect(grant.accessToken.value == "fake-at-form")
        #expect(grant.scopes == ["repo"])
    }

    @Test func errorMemberThatIsAnObjectIsDescribed() {
        guard case .failure(let error) = parse(400, #"{"error":{"code":7,"message":"bad"}}"#) else {
            Issue.record("expected a failure"); return
        }
        #expect(error.error == #"{"code":7,"message":"bad"}"#)
        #expect(error.kind == .configuration)
    }
}
