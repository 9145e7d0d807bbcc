import Foundation
import Testing

@testable import TokentopCore

/// How a device authorization endpoint's answer (RFC 8628 §3.2) is read: by the token answer's strict reader.
struct DeviceAuthorizationTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func parse(_ status: Int, _ body: String) -> Result<DeviceAuthorization, ProviderError> {
        DeviceAuthorization.parse(
            HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Data(body.utf8)),
            now: now)
    }

    private func failure(_ status: Int, _ body: String) -> ProviderError? {
        guard case .failure(let error) = parse(status, body) else {
            Issue.record("expected a failure")
            return nil
        }
        return error
    }

    @Test func anAnswerBecomesADeviceAuthorization() throws {
        let answer = try parse(
            200,
            #"{"device_code":"fake-device-code-0001","user_code":"WDJB-MJHT","#
                + #""verification_uri":"https://auth.example.test/device","#
                + #""verification_uri_complete":"https://auth.example.test/device?user_code=WDJB-MJHT","#
                + #""expires_in":1800,"interval":"7","extra":{"a":1,"a":2}}"#
        ).get()
        #expect(answer.deviceCode.value == "fake-device-code-0001")
        #expect(answer.userCode == "WDJB-MJHT")
        #expect(answer.verificationURI.absoluteString == "https://auth.example.test/device")
        #expect(
            answer.verificationURIComplete?.absoluteString == "https://auth.example.test/device?user_code=WDJB-MJHT")
        #expect(answer.expiresIn == 1800)
        #expect(answer.interval == 7)
    }

    /// Google's endpoint says `verification_url`; a boolean is no interval, and a missing one is the RFC's 5 s.
    @Test func googlesSpellingAndDefaultsAreRead() throws {
        let answer = try parse(
            200,
            #"{"device_code":"fake-device-code-0002","user_code":"ABCD","#
                + #""verification_url":"https://www.example.test/device","interval":true}"#
        ).get()
        #expect(answer.verificationURI.absoluteString == "https://www.example.test/device")
        #expect(answer.interval == DeviceAuthorization.defaultInterval)
        #expect(answer.expiresIn == DeviceAuthorization.defaultLifetime)
    }

    /// JSONSerialization kept one of two values silently; which one the provider meant is unknown, so the answer is
    /// a recorded failure worded as a token answer's is, and its body (which holds the device code) is not kept.
    @Test(arguments: [
        (
            "device_code",
            #"{"device_code":"fake-device-code-0003","device_code":"fake-device-code-0004","user_code":"ABCD","#
                + #""verification_uri":"https://auth.example.test/device"}"#
        ),
        (
            "verification_uri",
            #"{"device_code":"fake-device-code-0005","user_code":"ABCD","#
                + #""verification_uri":"https://auth.example.test/device","#
                + #""verification_uri":"https://elsewhere.example.test/device"}"#
        ),
        (
            "interval",
            #"{"device_code":"fake-device-code-0006","user_code":"ABCD","#
                + #""verification_uri":"https://auth.example.test/device","interval":5,"interval":1}"#
        ),
    ])
    func aMemberNamedTwiceIsARecordedFailure(member: String, body: String) throws {
        let error = try #require(failure(200, body))
        #expect(error.kind == .malformed)
        #expect(error.error == "malformed_response")
        #expect(
            error.errorDescription
                == "the answer names \"\(member)\" twice, so which value the provider meant is unknown; none was used")
        #expect(error.status == 200)
        #expect(error.bodyPrefix == nil)
        #expect(!error.summary.contains("fake"))
    }

    /// An error answer that repeats a member is read as the token endpoint reads one: transient, not a refusal.
    @Test func anErrorNamedTwiceIsTransient() throws {
        let error = try #require(failure(400, #"{"error":"invalid_client","error":"slow_down"}"#))
        #expect(error.kind == .transient)
        #expect(error.errorDescription?.hasPrefix("the answer names \"error\" twice") == true)
    }

    /// A code the user must type is shown as the provider sent it, or refused: one holding an escape, another control
    /// character or an invisible mark would show garbled, so it is an odd answer like a missing code.
    @Test(arguments: [
        // As the JSON answer spells them.
        #"WDJB\u001b[2JMJHT"#, #"WDJB\u0007MJHT"#, #"WDJB\nMJHT"#, #"WDJB\u202eMJHT"#, "   ",
        String(repeating: "A", count: 65),
    ])
    func aUserCodeThatCannotBeShownAsSentIsRefused(json code: String) throws {
        let body = #"{"device_code":"fake-device-code-0008","user_code":"# + "\"\(code)\","
            + #""verification_uri":"https://auth.example.test/device","expires_in":600}"#
        let error = try #require(failure(200, body))
        #expect(error.kind == .malformed)
        #expect(error.error == "malformed_response")
        #expect(error.errorDescription == "the answer has no usable user_code")
    }

    @Test(arguments: [
        (400, #"{"error":"invalid_client","error_description":"unknown client"}"#, "invalid_client", "unknown client"),
        (200, #"{"error":"access_denied"}"#, "access_denied", nil as String?),
        (200, "not json", "malformed_response", "the answer is not an OAuth 2.0 JSON object"),
        (200, "[1,2]", "malformed_response", "the answer is not an OAuth 2.0 JSON object"),
        (200, #"{"user_code":"ABCD"}"#, "malformed_response", "the answer has no device_code"),
        (
            200, #"{"device_code":"fake-device-code-0007","user_code":"ABCD","verification_uri":"ftp://x.test/d"}"#,
            "malformed_response", "the answer has no http(s) verification_uri"
        ),
    ])
    func otherAnswersAreFailures(status: Int, body: String, code: String, description: String?) throws {
        let error = try #require(failure(status, body))
        #expect(error.error == code)
        #expect(error.errorDescription == description)
    }
}
