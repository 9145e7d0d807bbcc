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

    /// 0 and negative values are no lifetime: the grant carries none, and says why, so the refresher's note does not
    /// claim the answer had no expiry; a positive value, however small, is kept as said.
    @Test(arguments: [
        (#""expires_in":0"#, nil as Double?, "the answer's expires_in was 0" as String?),
        (#""expires_in":-50"#, nil, "the answer's expires_in was negative (-50)"),
        (#""expires_in":"0""#, nil, "the answer's expires_in was 0"),
        (#""expires_in":"soon""#, nil, "the answer's expires_in is not a finite number"),
        (#""expires_in":true"#, nil, "the answer's expires_in is not a finite number"),
        (#""expires_at":1000"#, nil, "the answer's expires_at is not in the future"),
        (#""expires_in":null"#, nil, nil),
        (#""expires_in":0.001"#, 0.001, nil),
        (#""expires_in":0.5"#, 0.5, nil),
        (#""expires_in":-5,"expires_at":1800000600"#, 600, nil),
    ])
    func unusableExpirySaysWhy(member: String, expected: Double?, why: String?) throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let response = HTTPResponse(
            status: 200, headers: ["content-type": "application/json"],
            body: Data((#"{"access_token":"fake-at","# + member + "}").utf8))
        let grant = try TokenResponseParser.parse(response, now: now).get()
        #expect(grant.expiresIn == expected)
        #expect(grant.unusableExpiry == why)
        #expect(!grant.expiryAssumed, "the parser never assumes")
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
        (404, "<html>nope</html>", .transient, "http_error"),
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

    /// A token the answer carries is held to the import file's rule for secrets: anything else is a malformed answer
    /// that names the member and what is wrong, never quotes it, and keeps no body (which holds the token).
    @Test(arguments: [
        (#""access_token":"""#, "access_token is empty"),
        (#""access_token":"   ""#, "access_token is blank"),
        (#""access_token":" fake-at-edge""#, "access_token has whitespace at its edges"),
        (#""access_token":"fake-at-edge\n""#, "access_token has whitespace at its edges"),
        (#""access_token":"fake-at\u0007bell""#, "access_token contains the control or invisible character U+0007"),
        (#""access_token":"fake-at\u202Eflip""#, "access_token contains the control or invisible character U+202E"),
        (#""access_token":12"#, "access_token is a number, not a string"),
        (#""access_token":true"#, "access_token is a boolean, not a string"),
        (#""access_token":["fake-at"]"#, "access_token is an array, not a string"),
        (#""access_token":null"#, "access_token is null"),
        (#""access_token":"fake-at","refresh_token":"  ""#, "refresh_token is blank"),
        (#""access_token":"fake-at","refresh_token":"\t""#, "refresh_token is blank"),
        (#""access_token":"fake-at","refresh_token":12"#, "refresh_token is a number, not a string"),
        (#""access_token":"fake-at","refresh_token":false"#, "refresh_token is a boolean, not a string"),
        (#""access_token":"fake-at","refresh_token":{"v":"x"}"#, "refresh_token is an object, not a string"),
        (#""access_token":"fake-at","refresh_token":"fake-rt-edge ""#, "refresh_token has whitespace at its edges"),
        (
            #""access_token":"fake-at","refresh_token":"fake\u0000rt""#,
            "refresh_token contains the control or invisible character U+0000"
        ),
    ])
    func unusableTokensAreMalformedAndNotQuoted(members: String, why: String) {
        guard case .failure(let error) = parse(200, #"{"expires_in":3600,"# + members + "}") else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.kind == .malformed)
        #expect(error.error == "malformed_response")
        #expect(error.errorDescription == "the answer's " + why)
        #expect(error.status == 200)
        #expect(error.bodyPrefix == nil)
        #expect(!error.summary.contains("fake"))
    }

    @Test func unusableTokensInAFormEncodedAnswerAreMalformed() {
        let response = parse(
            200, "access_token=fake-at-form&refresh_token=+fake-rt-form",
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        guard case .failure(let error) = response else { Issue.record("expected a failure"); return }
        #expect(error.errorDescription == "the answer's refresh_token has whitespace at its edges")
    }

    /// null and "" are how a provider that does not rotate says so: no refresh token, and the stored one stays.
    @Test(arguments: [#""refresh_token":null"#, #""refresh_token":"""#, #""scope":"read""#])
    func aMissingRefreshTokenIsNoRotation(member: String) throws {
        let grant = try parse(200, #"{"access_token":"fake-at","# + member + "}").get()
        #expect(grant.accessToken.value == "fake-at")
        #expect(grant.refreshToken == nil)
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

    /// A token written with JSON escapes or percent-encoding in an answer that does not parse is masked whole,
    /// not left in short runs between the escapes.
    @Test(arguments: [
        #"fake\/tok\/en\/with\/escaped\/slashes\/xyz"#, #"fake\u002dtok\u002den\u002dxyz"#,
        "fake%2Ftok%2Fen%2Fwith%2Fpercent",
    ])
    func malformedBodyPrefixMasksEscapedTokens(token: String) {
        // Invalid UTF-8 after the token: the answer does not parse, so its prefix is kept.
        var body = Data(#"{"access_token":"\#(token)","x":""#.utf8)
        body.append(contentsOf: [0xFF, 0xFE, 0x22, 0x7D])
        guard case .failure(let error) = TokenResponseParser.parse(HTTPResponse(status: 200, headers: [:], body: body))
        else { Issue.record("expected a failure"); return }
        let prefix = error.bodyPrefix ?? ""
        #expect(prefix.contains(#""access_token":"[masked]""#), "\(prefix)")
        #expect(!prefix.contains("fake"), "\(prefix)")
    }

    /// A secret-named member's value is masked in a kept prefix whatever it looks like: short, with `:` or `~`
    /// between its parts, a bare number, or cut off where the prefix ends.
    @Test(arguments: [
        (#"{"access_token": "AbCdEfGh12:IjKlMnOp34:QrStUvWx56", "refresh_token": "1~fk", "expires_in": 36"#,
         ["AbCdEfGh12", "IjKl", "1~fk"]),
        (#"{"access_token":"fake-at-1","token_type":"Bearer""#, ["fake-at-1"]),
        (#"{"ID_TOKEN": 12345678, "x": 1"#, ["12345678"]),
        (#"{"token": "ghs_fk"#, ["ghs_fk"]),
        ("access_token=fake-at-2&token_type=bearer&refresh_token=rt:3", ["fake-at-2", "rt:3"]),
        // A name written with a JSON escape or percent-encoding is the same name.
        (#"{"refresh\u005ftoken":"r:e:s","token_type":"bearer"}"#, ["r:e:s"]),
        (#"{"\u0061ccess_token":"x:y:z","expires_in":3600"#, ["x:y:z"]),
        ("refresh%5Ftoken=p:c:t&token_type=bearer", ["p:c:t"]),
    ])
    func malformedBodyPrefixMasksSecretNamedValues(body: String, hidden: [String]) {
        guard case .failure(let error) = parse(200, body) else { Issue.record("expected a failure"); return }
        let prefix = error.bodyPrefix ?? ""
        for secret in hidden { #expect(!prefix.contains(secret), "\(prefix)") }
        #expect(prefix.contains("[masked]"))
        #expect(!body.contains("token_type") || prefix.contains("token_type"), "other members stay readable")
    }

    /// An answer that is JSON but no token answer keeps its member names and describing values (errors, types,
    /// times) readable; every other string, a bare array's too, may be a token and is masked however short.
    @Test(arguments: [
        (#"["a:b:c", "x"]"#, #"["[masked]", "[masked]"]"#),
        (#"{"weird": "x:y", "n": 5, "e": ""}"#, #"{"weird": "[masked]", "n": 5, "e": ""}"#),
        (#"{"token_type":"bearer"}"#, #"{"token_type":"bearer"}"#),
        (#"{"error":{"code":7,"message":"bad "quote""},"data":["k:1"]}"#,
         #"{"error":{"code":7,"message":"bad "quote""},"data":["[masked]"]}"#),
        (#"{"expires_at":"2027-01-15T09:00:00Z","cut":"abc"#, #"{"expires_at":"2027-01-15T09:00:00Z","cut":"[masked]""#),
        ("<html>not json</html>", "<html>not json</html>"),
    ])
    func jsonPrefixesMaskEveryStringButDescribingOnes(body: String, expected: String) {
        #expect(TokenResponseParser.bodyPrefix(Data(body.utf8)) == expected)
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

/// One row per answer shape real providers send, and what the parser makes of it.
struct TokenResponseShapeTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        (#"{"access_token":"a","expires_at":1800000600}"#, 600.0 as Double?),
        (#"{"access_token":"a","expires_at":"2027-01-15T08:10:00Z"}"#, 600),
        (#"{"access_token":"a","expires_at":"2027-01-15T08:10:00.500Z"}"#, 600.5),
        (#"{"access_token":"a","expires_at":1799999000}"#, nil),
        (#"{"access_token":"a","expires_in":600,"expires_at":1800009999}"#, 600),
        (#"{"access_token":"a"}"#, nil),
        (#"{"access_token":"a","expires_in":"soon"}"#, nil),
        (#"{"access_token":"a","expires_in":true}"#, nil),
    ])
    func expiryShapes(body: String, expected: Double?) throws {
        let response = HTTPResponse(status: 200, body: Data(body.utf8))
        let grant = try TokenResponseParser.parse(response, now: Self.now).get()
        #expect(grant.expiresIn == expected)
    }

    private func parse(_ status: Int, _ body: String) -> Result<TokenGrant, ProviderError> {
        TokenResponseParser.parse(HTTPResponse(status: status, body: Data(body.utf8)), now: Self.now)
    }

    /// Bearer in any case, and Slack's names for its bearer tokens, are kept as given.
    @Test(arguments: ["bearer", "BEARER", "Bearer", "bot", "user"])
    func aBearerTokenTypeInAnyCaseIsKept(type: String) throws {
        let body = #"{"access_token":"a","token_type":""# + type + #""}"#
        #expect(try TokenResponseParser.parse(HTTPResponse(status: 200, body: Data(body.utf8))).get().tokenType == type)
    }

    /// An answer without a token type, or with null for one, is read as Bearer, as the providers that leave it out
    /// mean.
    @Test(arguments: [#"{"access_token":"a"}"#, #"{"access_token":"a","token_type":null}"#])
    func noTokenTypeIsBearer(body: String) throws {
        #expect(try parse(200, body).get().tokenType == "Bearer")
    }

    /// RFC 6749 §7.1: a token of a type tokentop does not understand is not used. The answer is a failure on the
    /// connection that names the type when it is a plain word, and no token of it is kept.
    @Test(arguments: [
        ("mac", #"a "mac" token"#), ("MAC", #"a "MAC" token"#), ("DPoP", #"a "DPoP" token"#),
        ("N_A", "a token whose type is not Bearer"), ("bearer ", "a token whose type is not Bearer"),
        (#"\u001b[31mred"#, "a token whose type is not Bearer"),
        (String(repeating: "x", count: 21), "a token whose type is not Bearer"),
    ])
    func aTokenOfAnotherTypeIsRefused(type: String, named: String) throws {
        let body = #"{"access_token":"fake-at-mac-0001","refresh_token":"fake-rt-mac-0001","token_type":""#
            + type + #"","expires_in":3600}"#
        guard case .failure(let error) = parse(200, body) else {
            Issue.record("a \(type) token was taken")
            return
        }
        #expect(error.error == "unsupported_token_type")
        #expect(error.kind == .configuration)
        #expect(error.status == 200)
        let description = error.errorDescription ?? ""
        #expect(description.hasPrefix("the provider issued \(named); tokentop sends Bearer tokens only"), "\(error)")
        #expect(error.bodyPrefix == nil)
        let text = [error.error, error.errorDescription ?? "", error.summary].joined(separator: "\n")
        #expect(!text.contains("fake-at-mac") && !text.contains("fake-rt-mac") && !text.contains("\u{1B}"))
    }

    /// A token type or a scope that is no text (a boolean, an array, an object) makes the answer malformed, like a
    /// token of the wrong type: what the provider meant is unknown. A number is text (`"scope": 3600`).
    @Test(arguments: [
        (#""scope":{"read":true}"#, "scope", "an object"), (#""scope":["read","write"]"#, "scope", "an array"),
        (#""scope":true"#, "scope", "a boolean"), (#""token_type":{"type":"Bearer"}"#, "token_type", "an object"),
        (#""token_type":false"#, "token_type", "a boolean"),
    ])
    func aScopeOrTokenTypeThatIsNoTextIsMalformed(member: String, name: String, kind: String) throws {
        let body = #"{"access_token":"fake-at-shape-0001","expires_in":3600,"# + member + "}"
        guard case .failure(let error) = parse(200, body) else {
            Issue.record("\(member) was taken")
            return
        }
        #expect(error.error == "malformed_response")
        #expect(error.kind == .malformed)
        #expect(error.errorDescription == "the answer's \(name) is \(kind), not a string; no token was stored")
        #expect(error.bodyPrefix == nil)
    }

    @Test func extraFieldsAreIgnored() throws {
        let body = #"{"access_token":"a","id_token":"x.y.z","team":{"id":"T1"},"ok":true}"#
        #expect(
            try TokenResponseParser.parse(HTTPResponse(status: 200, body: Data(body.utf8))).get().accessToken.value
                == "a")
    }

    @Test(arguments: [(400, "http_error"), (403, "http_error"), (502, "server_error"), (429, "rate_limited")])
    func htmlErrorPagesAreTransient(status: Int, code: String) {
        let response = HTTPResponse(
            status: status, headers: ["Content-Type": "text/html"], body: Data("<html>x</html>".utf8))
        guard case .failure(let error) = TokenResponseParser.parse(response) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.kind == .transient)
        #expect(error.error == code)
    }

    @Test func anOAuthErrorInsideA400IsNotTransient() {
        let response = HTTPResponse(status: 400, body: Data(#"{"error":"invalid_grant"}"#.utf8))
        guard case .failure(let error) = TokenResponseParser.parse(response) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.kind == .invalidGrant)
    }

    @Test func oversizedBodiesAreCutAndRecorded() {
        let body = Data(String(repeating: "ab ", count: TokenResponseParser.maximumBodyLength / 3 + 1).utf8)
        guard case .failure(let error) = TokenResponseParser.parse(HTTPResponse(status: 200, body: body)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.error == "oversized_response")
        #expect(error.kind == .malformed)
        #expect(error.bodyPrefix?.count == TokenResponseParser.bodyPrefixLength + 1)
    }
}
