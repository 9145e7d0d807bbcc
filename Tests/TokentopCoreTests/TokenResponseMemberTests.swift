import Foundation
import Testing

@testable import TokentopCore

/// How the members of a JSON token answer are read: a member named twice, numbers, booleans, null.
struct TokenResponseMemberTests {
    private func parse(_ status: Int, _ body: String, type: String = "application/json") -> Result<
        TokenGrant, ProviderError
    > {
        TokenResponseParser.parse(
            HTTPResponse(status: status, headers: ["Content-Type": type, "Retry-After": "7"], body: Data(body.utf8)),
            now: Date(timeIntervalSince1970: 1_800_000_000))
    }

    private func failure(_ status: Int, _ body: String, type: String = "application/json") -> ProviderError? {
        guard case .failure(let error) = parse(status, body, type: type) else {
            Issue.record("expected a failure")
            return nil
        }
        return error
    }

    /// The text of every field of a failure a person or a log may see.
    private func everything(_ error: ProviderError) -> String {
        [error.error, error.errorDescription ?? "", error.bodyPrefix ?? "", error.summary].joined(separator: "\n")
    }

    // MARK: - A member named twice

    /// RFC 6749 §3.2 allows each parameter once; JSONSerialization kept the last one silently. Which one the provider
    /// meant is unknown, so the answer is malformed: retried like any malformed answer, the stored tokens kept.
    @Test(arguments: [
        (
            "access_token",
            #"{"access_token":"fake-at-dup-0001","token_type":"Bearer","access_token":"fake-at-dup-0002"}"#
        ),
        (
            "refresh_token",
            #"{"access_token":"fake-at-dup-0001","refresh_token":"fake-rt-dup-1","refresh_token":"fake-rt-dup-2"}"#
        ),
        ("expires_in", #"{"access_token":"fake-at-dup-0001","expires_in":3600,"expires_in":60}"#),
        ("expires_in", #"{"access_token":"fake-at-dup-0001","expires_in":"3600","expires_in":3600}"#),
        ("error", #"{"error":"invalid_grant","error":"temporarily_unavailable"}"#),
        ("scope", #"{"access_token":"fake-at-dup-0001","scope":"read","scope":"read admin"}"#),
        ("id_token", #"{"access_token":"fake-at-dup-0001","id_token":"fake.id.1","id_token":"fake.id.2"}"#),
    ])
    func aMemberNamedTwiceIsMalformedAndNamed(member: String, body: String) throws {
        let error = try #require(failure(200, body))
        #expect(error.kind == .malformed)
        #expect(error.error == "malformed_response")
        #expect(
            error.errorDescription
                == "the answer names \"\(member)\" twice, so which value the provider meant is unknown; none was used")
        #expect(error.status == 200)
        // The body holds tokens, which the mask may not catch: it is not kept.
        #expect(error.bodyPrefix == nil)
        #expect(!everything(error).contains("fake"))
    }

    /// Under an error status the answer cannot be read either: transient, like an error page, never a re-auth on
    /// an `error` the provider may not have meant.
    @Test(arguments: [400, 401, 429, 503])
    func anErrorNamedTwiceUnderAnErrorStatusIsTransient(status: Int) throws {
        let error = try #require(failure(status, #"{"error":"invalid_grant","error":"server_error"}"#))
        #expect(error.kind == .transient)
        #expect(error.error == "malformed_response")
        #expect(error.errorDescription?.hasPrefix("the answer names \"error\" twice") == true)
        #expect(error.retryAfter == 7)
    }

    @Test func aRedirectIsReportedAsOneWhateverItsBodyRepeats() throws {
        let error = try #require(failure(307, #"{"access_token":"fake-at-dup-0001","access_token":"fake-at-2"}"#))
        #expect(error.kind == .configuration)
        #expect(error.error == "redirect")
    }

    /// A JSON body names a member twice under any content type; it is not read as a form instead.
    @Test(arguments: ["application/x-www-form-urlencoded", "text/plain", "text/html"])
    func aRepeatedMemberIsFoundUnderAnyContentType(type: String) throws {
        let error = try #require(
            failure(200, #"{"access_token":"fake-at-dup-0001","access_token":"fake-at-dup-0002"}"#, type: type))
        #expect(error.errorDescription?.hasPrefix("the answer names \"access_token\" twice") == true)
    }

    /// A form-encoded answer (some providers send one) names each parameter once too; the first of a repeated name
    /// used to be taken silently. A name repeated in another spelling (`%5F` for `_`) is the same name.
    @Test(arguments: [
        ("access_token", "access_token=fake-at-form-0001&token_type=bearer&access_token=fake-at-form-0002"),
        ("refresh_token", "access_token=fake-at-form-0001&refresh_token=fake-rt-1&refresh_token=fake-rt-2"),
        ("access_token", "access_token=fake-at-form-0001&access%5Ftoken=fake-at-form-0002"),
        ("expires_in", "access_token=fake-at-form-0001&expires_in=3600&expires_in=60"),
        ("error", "error=invalid_grant&error=temporarily_unavailable"),
    ])
    func aFormNameGivenTwiceIsMalformedAndNamed(member: String, body: String) throws {
        for type in ["application/x-www-form-urlencoded", "text/plain; charset=utf-8"] {
            let error = try #require(failure(200, body, type: type))
            #expect(error.kind == .malformed)
            #expect(error.error == "malformed_response")
            #expect(
                error.errorDescription
                    == "the answer names \"\(member)\" twice, so which value the provider meant is unknown; "
                    + "none was used")
            #expect(error.status == 200)
            #expect(error.bodyPrefix == nil)
            #expect(!everything(error).contains("fake"))
        }
        let underError = try #require(failure(400, body, type: "application/x-www-form-urlencoded"))
        #expect(underError.kind == .transient)
        #expect(underError.errorDescription?.hasPrefix("the answer names \"\(member)\" twice") == true)
        #expect(underError.retryAfter == 7)
    }

    /// Each name once, the form is read as before.
    @Test func aFormWithEachNameOnceIsAGrant() throws {
        let grant = try parse(
            200, "access_token=fake-at-form-0003&token_type=bearer&expires_in=60&scope=a+b",
            type: "application/x-www-form-urlencoded"
        ).get()
        #expect(grant.accessToken.value == "fake-at-form-0003")
        #expect(grant.expiresIn == 60)
        #expect(grant.scopes == ["a", "b"])
    }

    /// A name is quoted clipped and cleaned, and masked when it looks like a token: a provider may put anything there.
    @Test func aRepeatedNameIsMaskedAndCleanedInTheMessage() throws {
        let token = try #require(
            failure(200, #"{"fake0123456789abcdefghijklmn":1,"access_token":"a","fake0123456789abcdefghijklmn":2}"#))
        #expect(token.errorDescription?.hasPrefix("the answer names \"[masked]\" twice") == true)
        let control = try #require(failure(200, #"{"x\u001b[31m":1,"x\u001b[31m":2}"#))
        #expect(control.errorDescription?.hasPrefix("the answer names \"x\u{FFFD}[31m\" twice") == true)
    }

    /// Nested objects are no parameters (RFC 8259 only says names SHOULD be unique): a name repeated inside one is
    /// not read, so the answer is taken, as a provider's sloppy extra data should not cost a refresh. A described
    /// `error` object shows the last value, as JSONSerialization did.
    @Test func aNameRepeatedInANestedObjectIsAllowed() throws {
        let grant = try parse(
            200, #"{"access_token":"fake-at-nested","team":{"id":"T1","id":"T2"},"list":[{"a":1,"a":2}]}"#
        ).get()
        #expect(grant.accessToken.value == "fake-at-nested")
        let error = try #require(failure(400, #"{"error":{"code":1,"message":"first","code":2}}"#))
        #expect(error.error == #"{"code":2,"message":"first"}"#)
    }

    // MARK: - Numbers, booleans and null

    /// A number read as text (an error code, a description, a scope) reads as the provider wrote it when it is
    /// whole: 3600, never 3600.0.
    @Test(arguments: [
        (#"{"error":3600}"#, "3600", nil as String?),
        (#"{"error":-12}"#, "-12", nil),
        (#"{"error":3600.0}"#, "3600", nil),
        (#"{"error":59.5}"#, "59.5", nil),
        (#"{"error":1e30}"#, "1e+30", nil),
        (#"{"error":"x","error_description":404}"#, "x", "404"),
        (#"{"error":{"code":7,"ratio":0.25,"big":1e21}}"#, #"{"big":1e+21,"code":7,"ratio":0.25}"#, nil),
    ])
    func numbersReadAsTextAreWrittenPlainly(body: String, code: String, description: String?) throws {
        let error = try #require(failure(400, body))
        #expect(error.error == code)
        #expect(error.errorDescription == description)
    }

    @Test func aNumericScopeAndTokenTypeAreText() throws {
        let grant = try parse(200, #"{"access_token":"fake-at","scope":3600}"#).get()
        #expect(grant.scopes == ["3600"])
        // A token of type "7" is no Bearer token, and is refused by name.
        let error = try #require(failure(200, #"{"access_token":"fake-at","token_type":7}"#))
        #expect(error.error == "unsupported_token_type")
        #expect(error.errorDescription?.hasPrefix(#"the provider issued a "7" token"#) == true)
    }

    /// `true` is no number of seconds, no scope and no token type; an `error` that is one is written as JSON,
    /// not as 1.
    @Test(arguments: [
        #""expires_in":true"#, #""expires_in":false"#, #""expires_at":true"#, #""expires_in":"true""#,
    ])
    func aBooleanIsNoLifetime(member: String) throws {
        let grant = try parse(200, #"{"access_token":"fake-at","# + member + "}").get()
        #expect(grant.expiresIn == nil)
        #expect(grant.unusableExpiry != nil)
    }

    @Test func aBooleanIsNoText() throws {
        let scope = try #require(failure(200, #"{"access_token":"fake-at","scope":true}"#))
        #expect(scope.errorDescription == "the answer's scope is a boolean, not a string; no token was stored")
        let type = try #require(failure(200, #"{"access_token":"fake-at","token_type":false}"#))
        #expect(type.errorDescription == "the answer's token_type is a boolean, not a string; no token was stored")
        let error = try #require(failure(400, #"{"error":true,"error_description":false}"#))
        #expect(error.error == "true")
        #expect(error.errorDescription == "false")
    }

    /// null is how providers say "not given", as for refresh_token and expires_in.
    @Test func nullIsAnAbsentMember() throws {
        let grant = try parse(200, #"{"access_token":"fake-at","error":null,"scope":null,"expires_at":null}"#).get()
        #expect(grant.accessToken.value == "fake-at")
        #expect(grant.scopes == nil)
        let error = try #require(failure(400, #"{"error":"invalid_grant","error_description":null}"#))
        #expect(error.errorDescription == nil)
        #expect(error.kind == .invalidGrant)
    }

    /// Huge numbers: a lifetime is clamped to ten years; one beyond a double is no JSON the parser accepts.
    @Test(arguments: [
        (#""expires_in":99999999999999999999"#, 10 * 365 * 86_400 as Double?),
        (#""expires_in":1e308"#, 10 * 365 * 86_400),
        (#""expires_in":"1e400""#, nil),
    ])
    func hugeLifetimesAreClamped(member: String, expected: Double?) throws {
        let grant = try parse(200, #"{"access_token":"fake-at","# + member + "}").get()
        #expect(grant.expiresIn == expected)
        #expect((grant.shortenedExpiry != nil) == (expected != nil), "a shortened lifetime is said to be")
        #expect(grant.shortenedExpiry?.hasSuffix("s) is more than 10 years; kept as 10 years") ?? true)
    }

    @Test func aLifetimeJustOverTenYearsIsSaidInWholeSeconds() throws {
        let grant = try parse(200, #"{"access_token":"fake-at","expires_in":315360001}"#).get()
        #expect(grant.expiresIn == 315_360_000)
        #expect(grant.shortenedExpiry == "the answer's lifetime (315360001 s) is more than 10 years; kept as 10 years")
    }

    // MARK: - Strict JSON

    /// RFC 8259 allows no trailing comma (JSONSerialization took one), no number beyond a double, no lone surrogate
    /// and nothing after the value: such an answer is not JSON, and no token is taken from it.
    @Test(arguments: [
        #"{"access_token":"fake-at-strict-0001",}"#,
        #"{"access_token":"fake-at-strict-0001","expires_in":1e400}"#,
        #"{"access_token":"fake-at-strict-0001","x":"\ud800"}"#,
        #"{"access_token":"fake-at-strict-0001"} trailing"#,
    ])
    func invalidJSONIsNotAnAnswer(body: String) throws {
        let error = try #require(failure(200, body))
        #expect(error.kind == .malformed)
        #expect(error.errorDescription == "the answer is not an OAuth 2.0 JSON object")
    }
}
