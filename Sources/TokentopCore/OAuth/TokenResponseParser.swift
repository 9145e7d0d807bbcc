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
        let fields: JSONObject?
        switch members(response) {
        case .object(let object): fields = object
        case .unreadable: fields = nil
        case .repeated(let name):
            // A redirect's body is no answer: the redirect is what to report.
            guard (300..<400).contains(status) else {
                return .failure(repeatedMember(name, status: status, retryAfter: retryAfter))
            }
            fields = nil
        }

        if let fields, let error = present(fields["error"]) {
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
            let tokenType: String
            switch self.tokenType(fields, status: status) {
            case .success(let type): tokenType = type
            case .failure(let error): return .failure(error)
            }
            let scopes: [String]?
            switch text("scope", in: fields, status: status) {
            case .success(let scope): scopes = scope.map { $0.split(separator: " ").map(String.init) }
            case .failure(let error): return .failure(error)
            }
            let (expiresIn, unusable) = expiry(fields, now: now)
            var grant = TokenGrant(
                accessToken: access, refreshToken: refresh, expiresIn: expiresIn.map { min($0, maximumLifetime) },
                scopes: scopes, tokenType: tokenType)
            grant.unusableExpiry = unusable
            if let expiresIn, expiresIn > maximumLifetime {
                // A provider's mistake would leave the token unrenewed for ten years without a word.
                // Whole seconds while they fit: 3.1536e+08 read as exactly ten years.
                let seconds = expiresIn < 1e15 ? String(Int64(expiresIn)) : format(expiresIn)
                grant.shortenedExpiry = "the answer's lifetime (\(seconds) s) is more than 10 years; kept as 10 years"
            }
            grant.signedInUser = string(fields["id_token"]).flatMap(SignedInUser.read)
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
    static func classify(error: JSONValue, fields: JSONObject, status: Int, retryAfter: Double?) -> ProviderError {
        let code = SafeText.clean(string(error) ?? error.sortedText)
        let described = present(fields["error_description"])
        let description = (string(described) ?? described?.sortedText).map { SecretMasking.mask(SafeText.clean($0)) }
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

    private static func token(_ name: String, in fields: JSONObject, emptyIsAbsent: Bool) -> TokenMember {
        let text: String
        switch fields[name] {
        case nil: return .absent
        case .null?: return emptyIsAbsent ? .absent : .unusable("the answer's \(name) is null")
        case .string(let string)?: text = string
        case let value?: return .unusable("the answer's \(name) is \(value.kindName), not a string")
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

    /// An answer whose token cannot be stored: malformed, and its body is not kept, since it holds a token that the
    /// mask may not catch (a short one, or one cut by whitespace).
    private static func unusableToken(status: Int, why: String) -> ProviderError {
        ProviderError(kind: .malformed, error: "malformed_response", errorDescription: why, status: status)
    }

    /// The token types tokentop sends as `Authorization: Bearer`, lower-cased: Bearer (RFC 6750), and the names
    /// Slack gives its bearer tokens (`bot`, `user`; its API takes them as Bearer tokens).
    static let bearerTokenTypes: Set<String> = ["bearer", "bot", "user"]

    /// The answer's `token_type` as given, or `Bearer` when it gives none (absent or null), as providers that leave
    /// it out mean. A token of any other type (`mac`, `DPoP`, RFC 8693's `N_A`) is refused, since RFC 6749 §7.1
    /// forbids using a token whose type the client does not understand; so is a `token_type` that is no text.
    static func tokenType(_ fields: JSONObject, status: Int) -> Result<String, ProviderError> {
        let type: String
        switch text("token_type", in: fields, status: status) {
        case .success(let given?): type = given
        case .success(nil): return .success("Bearer")
        case .failure(let error): return .failure(error)
        }
        guard !bearerTokenTypes.contains(type.lowercased()) else { return .success(type) }
        // The provider's word, when it is one; anything else (long, or with other characters) is not repeated.
        let plain = type.count <= 20 && type.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let issued = plain ? "a \"\(type)\" token" : "a token whose type is not Bearer"
        return .failure(
            ProviderError(
                kind: .configuration, error: "unsupported_token_type",
                errorDescription: "the provider issued \(issued); tokentop sends Bearer tokens only, and RFC 6749 "
                    + "§7.1 forbids using a token of a type the client does not understand, so it was not stored",
                status: status))
    }

    /// A member that is text: a string, or a number written as text (`"scope": 3600`); nil when absent or null.
    /// A boolean, an array or an object is a malformed answer: its meaning is unknown, so none is guessed. The
    /// message names the member, never its value, and no body is kept, since the answer holds a token.
    private static func text(_ name: String, in fields: JSONObject, status: Int) -> Result<String?, ProviderError> {
        guard let value = present(fields[name]) else { return .success(nil) }
        if let text = string(value) { return .success(text) }
        return .failure(
            ProviderError(
                kind: .malformed, error: "malformed_response",
                errorDescription: "the answer's \(name) is \(value.kindName), not a string; no token was stored",
                status: status))
    }

    /// What an answer's body holds.
    enum Members {
        /// A JSON object, or a form-encoded body (some providers send one) read as an object of strings.
        case object(JSONObject)
        /// A JSON object, or a form, that names this member twice.
        case repeated(String)
        /// Neither: empty, not JSON, or JSON that is not an object.
        case unreadable
    }

    private static func members(_ response: HTTPResponse) -> Members {
        let body = response.body
        let json = jsonMembers(body)
        guard case .unreadable = json else { return json }
        let type = response.headers["content-type"]?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") || type.hasPrefix("text/plain") {
            let pairs = FormEncoding.pairs(body)
            if pairs.contains(where: { $0.name == "access_token" || $0.name == "error" }) {
                // A form names each parameter once too: a repeated name is refused as in a JSON answer.
                var object = JSONObject()
                for (name, value) in pairs where !object.insert(name, .string(value)) { return .repeated(name) }
                return .object(object)
            }
        }
        return .unreadable
    }

    /// A body read as one JSON object, held to the token answer's rule: a top-level member named twice is
    /// ``Members/repeated(_:)``; a nested object may repeat a name, since only top-level members are parameters.
    static func jsonMembers(_ body: Data) -> Members {
        guard !body.isEmpty else { return .unreadable }
        do {
            if case .object(let object) = try JSONValue.parse(body, duplicateKeys: .refusedAtTopLevel) {
                return .object(object)
            }
        } catch {
            if let name = error.duplicateKey { return .repeated(name) }
        }
        return .unreadable
    }

    /// An answer that names a member twice (RFC 6749 §3.2 allows each once): which value the provider meant is
    /// unknown, so none is used. Classified as an answer that cannot be read: malformed, retried with backoff like
    /// one without a usable token, and under an error status transient like an error page. The message names the
    /// member, never a value, and no body is kept: it holds tokens, which the mask may not catch.
    static func repeatedMember(_ name: String, status: Int, retryAfter: Double?) -> ProviderError {
        ProviderError(
            kind: status >= 400 ? .transient : .malformed, error: "malformed_response",
            errorDescription: "the answer names \(ImportError.quoted(SecretMasking.mask(name))) twice, so which value "
                + "the provider meant is unknown; none was used",
            status: status, retryAfter: retryAfter)
    }

    /// A member's value, unless it is absent or null: providers send null for "not given".
    private static func present(_ value: JSONValue?) -> JSONValue? {
        if case .null? = value { return nil }
        return value
    }

    /// A string, or a number as text (`3600`, `59.5`); a boolean, null, an array or an object is none.
    private static func string(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .number(let number)?: JSONValue.numberText(number)
        default: nil
        }
    }

    /// The token's lifetime from `expires_in`, else from `expires_at`, as the answer gave it (``parse(_:now:)``
    /// shortens it to ``maximumLifetime``); and, when the answer carried an expiry that is no lifetime (0, negative,
    /// not a number, a time already past), why it was not used.
    ///
    /// A positive lifetime, however short, is kept as the provider said; 0 and negative values are not lifetimes
    /// (some providers send 0 for "does not expire"), so the caller assumes one, as for an answer without expiry.
    static func expiry(_ fields: JSONObject, now: Date) -> (seconds: Double?, unusable: String?) {
        var unusable: String?
        if let value = present(fields["expires_in"]) {
            switch number(value) {
            case let n? where n.isFinite && n > 0: return (n, nil)
            case let n? where n == 0: unusable = "the answer's expires_in was 0"
            case let n? where n < 0 && n.isFinite: unusable = "the answer's expires_in was negative (\(format(n)))"
            default: unusable = "the answer's expires_in is not a finite number"
            }
        }
        guard let value = present(fields["expires_at"]) else { return (nil, unusable) }
        guard let date = date(value) else { return (nil, unusable ?? "the answer's expires_at is not a time") }
        let seconds = date.timeIntervalSince(now)
        guard seconds.isFinite, seconds > 0 else {
            return (nil, unusable ?? "the answer's expires_at is not in the future")
        }
        return (seconds, nil)
    }

    /// The longest lifetime kept: ten years; a larger one is shortened to it (``TokenGrant/shortenedExpiry``).
    static let maximumLifetime: Double = 10 * 365 * 86_400

    /// A number or a numeric string; anything else (`true` and `false` among them) is nil.
    private static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let n): n
        case .string(let s): Double(s.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    /// A number for a note: no exponent for ordinary values, at most 6 significant digits.
    private static func format(_ value: Double) -> String {
        String(format: "%g", value)
    }

    /// An absolute `expires_at`: Unix seconds, or an RFC 3339 / ISO 8601 time.
    private static func date(_ value: JSONValue) -> Date? {
        switch value {
        case .number(let number):
            return Date(timeIntervalSince1970: number)
        case .string(let text):
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
        let masked = SecretMasking.mask(SecretMasking.maskJSONStrings(printable))
        return masked + (body.count > bodyPrefixLength ? "…" : "")
    }
}

/// Hides token-like runs in text that came from outside, so an echoed secret never reaches the screen or a log.
enum SecretMasking {
    /// Masks the values of members and form fields named as secrets (`"access_token": …`, `refresh_token=…`)
    /// whatever they hold, then every run of 20 or more token characters. A backslash and a percent sign count as
    /// token characters too: a token written with JSON escapes (`\/`, `\u002d`, as PHP's `json_encode` writes `/`) or
    /// percent-encoding would otherwise break into short runs that each pass.
    static func mask(_ text: String) -> String {
        maskRuns(maskNamedValues(text))
    }

    /// The names whose values are secrets wherever they appear: tokens, what a token request sends, client secrets.
    /// Each character may also be written as a JSON escape (`\u005f`) or percent-encoded (`%5F`), as a name can be.
    private static let secretNames = [
        "access_token", "refresh_token", "id_token", "token", "client_secret", "secret", "password", "assertion",
        "subject_token", "actor_token", "device_code",
    ].map { name in
        name.unicodeScalars.map { scalar in
            let hex = String(scalar.value, radix: 16, uppercase: false)
            return #"(?:\#(scalar)|\\u00\#(hex)|%\#(hex))"#
        }.joined()
    }.joined(separator: "|")

    /// A JSON member named as a secret, with its value: a string (perhaps cut off by the prefix) or a bare word.
    private static let jsonMember = try! NSRegularExpression(
        pattern: #"("(?:\#(secretNames))"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]"]+)"#, options: [.caseInsensitive])
    /// A form or query field named as a secret, with its value up to the next field.
    private static let formField = try! NSRegularExpression(
        pattern: #"((?:^|[&?\s])(?:\#(secretNames))=)([^&\s]+)"#, options: [.caseInsensitive])

    /// Members whose string values describe an answer rather than carry a credential: kept readable in a prefix.
    private static let describingNames: Set = [
        "error", "error_description", "error_uri", "message", "detail", "title", "type", "code", "status", "hint",
        "token_type", "issued_token_type", "scope", "expires_in", "expires_at",
    ]

    /// In text that starts as JSON (an object or an array), replaces every string value with `"[masked]"` except
    /// those of members named in ``describingNames``: an answer that is no token answer (a bare array, a member of
    /// any other name) may still carry a token in any string, however short. Member names stay readable.
    static func maskJSONStrings(_ text: String) -> String {
        let bytes = Array(text.utf8)
        guard let first = bytes.first(where: { $0 != 0x20 }), first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        var lastName: String?
        var afterColon = false
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\"") else {
                if byte == UInt8(ascii: ":") { afterColon = true } else if byte != 0x20 { afterColon = false }
                result.append(byte)
                index += 1
                continue
            }
            // A string literal, perhaps cut off where the prefix ends.
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
            }
            let literal = Array(bytes[index..<min(end + 1, bytes.count)])
            var next = end + 1
            while next < bytes.count, bytes[next] == 0x20 { next += 1 }
            if next < bytes.count, bytes[next] == UInt8(ascii: ":") {
                lastName = String(decoding: literal.dropFirst().dropLast(), as: UTF8.self).lowercased()
                result += literal
            } else if afterColon, let name = lastName, describingNames.contains(name) || literal.count <= 2 {
                result += literal
            } else {
                result += literal.count <= 2 ? literal : Array(#""[masked]""#.utf8)
            }
            afterColon = false
            index = end + 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Replaces the values of secret-named members and fields with `[masked]` (`"[masked]"` for a string).
    static func maskNamedValues(_ text: String) -> String {
        var text = text
        for (expression, quoted) in [(jsonMember, true), (formField, false)] {
            let whole = NSRange(text.startIndex..., in: text)
            // Backwards, so that earlier ranges stay valid while later ones are replaced.
            for match in expression.matches(in: text, range: whole).reversed() {
                guard let range = Range(match.range(at: 2), in: text) else { continue }
                let masked = quoted && text[range].hasPrefix("\"") ? "\"[masked]\"" : "[masked]"
                text.replaceSubrange(range, with: masked)
            }
        }
        return text
    }

    private static func maskRuns(_ text: String) -> String {
        var result = ""
        var run = ""
        func flush() {
            result += run.count >= 20 ? "[masked]" : run
            run = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || "-._~+/=\\%".contains(character) {
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
