import Foundation

/// A device authorization endpoint's answer (RFC 8628 §3.2).
struct DeviceAuthorization: Sendable, Equatable {
    /// The code the client polls with; a secret, since it buys tokens once the user approves.
    var deviceCode: Secret
    /// The code the user types at the verification page.
    var userCode: String
    var verificationURI: URL
    var verificationURIComplete: URL?
    /// Seconds until both codes expire.
    var expiresIn: Double
    /// Seconds between polls.
    var interval: Double

    /// RFC 8628 §3.2: 5 seconds when the answer names no interval (or one that is not a positive number).
    static let defaultInterval = 5.0
    /// The shortest wait between polls, whatever the provider says: no provider means to be hammered.
    static let shortestInterval = 1.0
    /// The longest wait between polls, slow_down and back-off included: a user who approved at once should not
    /// wait longer, and a code's life is counted in minutes.
    static let longestInterval = 60.0
    /// A code without `expires_in` (which the RFC requires) is given ten minutes.
    static let defaultLifetime = 600.0

    /// Parses an answer; an error or an answer missing a required member is a ``ProviderError``.
    ///
    /// The body is read by the token answer's strict reader (``TokenResponseParser/jsonMembers(_:)``): a top-level
    /// member named twice is a recorded failure, since which value the provider meant is unknown.
    static func parse(_ response: HTTPResponse, now: Date) -> Result<DeviceAuthorization, ProviderError> {
        // Errors (RFC 8628 §3.2 refers to RFC 6749 §5.2) read like the token endpoint's, and so does an answer too
        // large to be one.
        guard (200..<300).contains(response.status),
            response.body.count <= TokenResponseParser.maximumBodyLength
        else { return .failure(failure(response, now: now)) }
        let object: JSONObject
        switch TokenResponseParser.jsonMembers(response.body) {
        case .object(let members): object = members
        case .repeated(let name):
            return .failure(TokenResponseParser.repeatedMember(name, status: response.status, retryAfter: nil))
        case .unreadable: return .failure(failure(response, now: now))
        }
        switch object["error"] {
        case nil, .null?: break
        default: return .failure(failure(response, now: now))
        }
        guard let deviceCode = object["device_code"]?.string, !deviceCode.isEmpty else {
            return .failure(malformed(response, "the answer has no device_code"))
        }
        // A code the user is to type must show as sent: one with an escape or another control character in it would
        // be garbled on the screen (or drive the terminal), so it is refused like a missing one.
        guard let userCode = object["user_code"]?.string, !SafeText.isInvisible(userCode), userCode.count <= 64,
            !userCode.unicodeScalars.contains(where: SafeText.isUnsafe)
        else {
            return .failure(malformed(response, "the answer has no usable user_code"))
        }
        // Google's endpoint says verification_url; RFC 8628 says verification_uri.
        guard let verification = webURL(object["verification_uri"] ?? object["verification_url"]) else {
            return .failure(malformed(response, "the answer has no http(s) verification_uri"))
        }
        return .success(
            DeviceAuthorization(
                deviceCode: Secret(deviceCode), userCode: userCode, verificationURI: verification,
                verificationURIComplete: webURL(object["verification_uri_complete"]),
                expiresIn: positive(object["expires_in"]) ?? defaultLifetime,
                interval: min(max(positive(object["interval"]) ?? defaultInterval, shortestInterval), longestInterval)
            ))
    }

    /// The token endpoint parser's failure for an answer that is no device authorization: an OAuth error, an error
    /// status, a redirect, an oversized or unreadable body.
    private static func failure(_ response: HTTPResponse, now: Date) -> ProviderError {
        if case .failure(let error) = TokenResponseParser.parse(response, now: now) { return error }
        return malformed(response, "the answer is not a JSON object")
    }

    private static func webURL(_ value: JSONValue?) -> URL? {
        guard let text = value?.string, let url = URL(string: text),
            ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
        else { return nil }
        return url
    }

    /// A positive number, or a numeric string, at most a day; a boolean is no number.
    private static func positive(_ value: JSONValue?) -> Double? {
        let number: Double? =
            switch value {
            case .number(let n)?: n
            case .string(let s)?: Double(s)
            default: nil
            }
        guard let number, number.isFinite, number > 0 else { return nil }
        return min(number, 86_400)
    }

    private static func malformed(_ response: HTTPResponse, _ why: String) -> ProviderError {
        ProviderError(
            kind: .malformed, error: "malformed_response", errorDescription: why, status: response.status,
            bodyPrefix: TokenResponseParser.bodyPrefix(response.body))
    }
}
