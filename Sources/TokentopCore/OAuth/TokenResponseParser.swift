import Foundation

/// Turns a token endpoint's answer into a ``TokenGrant`` or a classified ``ProviderError``.
///
/// Every answer goes through here: the real network's and the demo sandbox's alike.
public enum TokenResponseParser {
    /// How many bytes of an answer we could not understand are kept on the connection.
    static let bodyPrefixLength = 120
    /// Answers larger than this are not parsed: no token endpoint sends a megabyte.
    public static let maximumBodyLength = 1 << 20

    /// Parses one answer.
    /// - Parameters:
    ///   - response: the HTTP answer of a token endpoint.
    ///   - now: the moment of the answer, to turn an absolute `expires_at` into a lifetime.
    /// - Returns: the grant, or the failure to record on the connection.
    public static func parse(_ response: HTTPResponse, now: Date = Date()) -> Result<TokenGrant, ProviderError> {
        let status = response.status
        let retryAfter = response.headers["retry-after"].flatMap(parseRetryAfter)
        guard response.body.count <= maximumBodyLength else {
            return .failure(
                ProviderError(
                    kind: status >= 400 ? .transient : .malformed, error: "oversized_response",
                    errorDescription: "the answer is \(response.body.count) bytes, more than the 1 MiB a token "
                        + "answer may be; it was not parsed", status: status, bodyPrefix: bodyPrefix(response.body),
                    retryAfter: retryAfter))
        }
        let fields = decodeFields(response)

        if let fields, let error = fields["error"] {
            return .failure(classify(error: error, fields: fields, status: status, retryAfter: retryAfter))
        }
        if (200..<300).contains(status), let fields {
            let access: Secret
            switch token("access_token", in: fields, emptyIsAbsent: false) {
            case .absent: return .failure(malformed(response, status: status, why: "the answer has no access_token"))
            case .unusable(let why): return .failure(unusableToken(status: status, why: why))
            case .present(let secret): access = secret
            }
            // null and "" are how providers that do not rotate say so: the stored refresh token stays.
            let refresh: Secret?
            switch token("refresh_token", in: fields, emptyIsAbsent: true) {
            case .absent: refresh = nil
            case .unusable(let why): return .failure(unusableToken(status: status, why: why))
            case .present(let secret): refresh = secret
            }
            let (expiresIn, unusable) = expiry(fields, now: now)
            var grant = TokenGrant(
                accessToken: access,
                refreshToken: refresh,
                expiresIn: expiresIn,
                scopes: string(fields["scope"]).map { $0.split(separator: " ").map(String.init) },
                tokenType: string(fields["token_type"]) ?? "Bearer")
            grant.unusableExpiry = unusable
            return .success(grant)
        }
        if (300..<400).contains(status) {
            let location = response.headers["location"].map { " to \(SafeText.clean($0))" } ?? ""
            return .failure(
                ProviderError(
                    kind: .configuration, error: "redirect",
                    errorDescription: "the endpoint answered HTTP \(status), a redirect\(location); tokentop does not "
                        + "follow redirects with client credentials, so correct the integration's URL",
                    status: status))
        }
        if status >= 400 {
            // An HTML page or other non-OAuth answer with an error status: a proxy, a gateway or an outage page.
            let error = status == 429 ? "rate_limited" : status >= 500 ? "server_error" : "http_error"
            return .failure(
                ProviderError(
                    kind: .transient, error: error, errorDescription: "the provider answered HTTP \(status)",
                    status: status, bodyPrefix: bodyPrefix(response.body), retryAfter: retryAfter))
        }
        let why = response.body.isEmpty ? "the answer is empty" : "the answer is not an OAuth 2.0 JSON object"
        return .failure(malformed(response, status: status, why: why))
    }

    /// Classifies an OAuth error code (RFC 6749 §5.2).
    static func classify(error: Any, fields: [String: Any], status: Int, retryAfter: Double?) -> ProviderError {
        let code = SafeText.clean(string(error) ?? describe(error))
        let description = (string(fields["error_description"]) ?? fields["error_description"].map(describe))
            .map { SecretMasking.mask(SafeText.clean($0)) }
        let kind: ProviderError.Kind
        switch code {
        case "invalid_grant": kind = .invalidGrant
        case "temporarily_unavailable", "server_error", "slow_down": kind = .transient
        case "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_request":
            kind = status >= 500 ? .transient : .configuration
        default: kind = (status == 429 || status >= 500) ? .transient : .configuration
        }
        return ProviderError(
            kind: kind, error: code, errorDescription: description, status: status, retryAfter: retryAfter)
    }

    private static func malformed(_ response: HTTPResponse, status: Int, why: String) -> ProviderError {
        ProviderError(
            kind: .malformed, error: "malformed_response", errorDescription: why, status: status,
            bodyPrefix: bodyPrefix(response.body))
    }

    /// A token member of an answer, held to the rule an import file's secrets meet (``Secret/problem(with:)``).
    private enum TokenMember {
        case absent
        case present(Secret)
        /// Why it cannot be stored; the message never quotes the value.
        case unusable(String)
    }

    private static func token(_ name: String, in fields: [String: Any], emptyIsAbsent: Bool) -> TokenMember {
        guard let value = fields[name], !(value is NSNull) else {
            return fields[name] == nil || emptyIsAbsent ? .absent : .unusable("the answer's \(name) is null")
        }
        guard let text = value as? String else {
            return .unusable("the answer's \(name) is \(kind(of: value)), not a string")
        }
        switch Secret.problem(with: text) {
        case nil: return .present(Secret(text))
        case .empty: return emptyIsAbsent ? .absent : .unusable("the answer's \(name) is empty")
        case .blank: return .unusable("the answer's \(name) is blank")
        case .whitespaceAtEdges: return .unusable("the answer's \(name) has whitespace at its edges")
        case .unsafeCharacter(let scalar):
            let codePoint = Secret.TextProblem.codePoint(scalar)
            return .unusable("the answer's \(name) contains the control or invisible character \(codePoint)")
        }
    }

    /// A JSON value's type as a message names it: "a number", "an array".
    private static func kind(of value: Any) -> String {
        switch value {
        case let number as NSNumber: isBoolean(number) ? "a boolean" : "a number"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "another kind of value"
        }
    }

    /// An answer whose token cannot be stored: malformed, and its body is not kept, since it holds a token that the
    /// mask may not catch (a short one, or one cut by whitespace).
    private static func unusableToken(status: Int, why: String) -> ProviderError {
        ProviderError(kind: .malformed, error: "malformed_response", errorDescription: why, status: status)
    }

    /// The answer's members: a JSON object, or a form-encoded body (some providers send one).
    private static func decodeFields(_ response: HTTPResponse) -> [String: Any]? {
        let body = response.body
        guard !body.isEmpty else { return nil }
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] { return object }
        let type = response.headers["content-type"]?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") || type.hasPrefix("text/plain") {
            let fields = FormEncoding.decode(body)
            if fields["access_token"] != nil || fields["error"] != nil { return fields }
        }
        return nil
    }

    private static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    private static func describe(_ value: Any) -> String {
        if JSONSerialization.isValidJSONObject(value),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        {
            return String(decoding: data, as: UTF8.self)
        }
        return String(describing: value)
    }

    /// The token's lifetime from `expires_in`, else from `expires_at`; and, when the answer carried an expiry that
    /// is no lifetime (0, negative, not a number, a time already past), why it was not used.
    ///
    /// A positive lifetime, however short, is kept as the provider said; 0 and negative values are not lifetimes
    /// (some providers send 0 for "does not expire"), so the caller assumes one, as for an answer without expiry.
    static func expiry(_ fields: [String: Any], now: Date) -> (seconds: Double?, unusable: String?) {
        var unusable: String?
        if let value = fields["expires_in"], !(value is NSNull) {
            switch number(value) {
            case let n? where n.isFinite && n > 0: return (min(n, maximumLifetime), nil)
            case let n? where n == 0: unusable = "the answer's expires_in was 0"
            case let n? where n < 0 && n.isFinite: unusable = "the answer's expires_in was negative (\(format(n)))"
            default: unusable = "the answer's expires_in is not a finite number"
            }
        }
        guard let value = fields["expires_at"], !(value is NSNull) else { return (nil, unusable) }
        guard let date = date(value) else { return (nil, unusable ?? "the answer's expires_at is not a time") }
        let seconds = date.timeIntervalSince(now)
        guard seconds.isFinite, seconds > 0 else {
            return (nil, unusable ?? "the answer's expires_at is not in the future")
        }
        return (min(seconds, maximumLifetime), nil)
    }

    /// The longest lifetime kept: ten years; a larger one is shortened to it.
    static let maximumLifetime: Double = 10 * 365 * 86_400

    /// A number or a numeric string; anything else is nil.
    private static func number(_ value: Any) -> Double? {
        switch value {
        case let n as NSNumber where !isBoolean(n): n.doubleValue
        case let s as String: Double(s.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    /// Whether a JSON value read as NSNumber was `true` or `false`, which is no number of seconds.
    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    /// A number for a note: no exponent for ordinary values, at most 6 significant digits.
    private static func format(_ value: Double) -> String {
        String(format: "%g", value)
    }

    /// An absolute `expires_at`: Unix seconds, or an RFC 3339 / ISO 8601 time.
    private static func date(_ value: Any) -> Date? {
        switch value {
        case let number as NSNumber where !isBoolean(number):
            return Date(timeIntervalSince1970: number.doubleValue)
        case let text as String:
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let plain = ISO8601DateFormatter()
            return formatter.date(from: text) ?? plain.date(from: text)
                ?? Double(text).map(Date.init(timeIntervalSince1970:))
        default: return nil
        }
    }

    /// `Retry-After` as delay seconds or an HTTP date.
    // FIXME: swift-corelibs-foundation's DateFormatter.date(from:) leaks 128 bytes for some inputs (scripts/fuzz
    // found it); a parser of our own for the three HTTP date formats would avoid it.
    static func parseRetryAfter(_ text: String) -> Double? {
        if let seconds = Double(text.trimmingCharacters(in: .whitespaces)) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { max(0, $0.timeIntervalSinceNow) }
    }

    /// The first bytes of a body, printable, with anything that looks like a token masked.
    static func bodyPrefix(_ body: Data) -> String? {
        guard !body.isEmpty else { return nil }
        let text = String(decoding: body.prefix(bodyPrefixLength), as: UTF8.self)
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
        return SecretMasking.mask(printable) + (body.count > bodyPrefixLength ? "…" : "")
    }
}

/// Hides token-like runs in text that came from outside, so an echoed secret never reaches the screen or a log.
enum SecretMasking {
    /// Replaces every run of 20 or more token characters with `[masked]`.
    static func mask(_ text: String) -> String {
        var result = ""
        var run = ""
        func flush() {
            result += run.count >= 20 ? "[masked]" : run
            run = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || "-._~+/=".contains(character) {
                run.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }
}
