import Foundation

/// The GET a probe sends: the integration's probe URL, with the credential where the integration says it goes.
///
/// An API key or bot token travels as `Authorization: Bearer KEY` unless the integration names a header or a query
/// parameter; basic auth (`user:password`) travels as `Authorization: Basic` (RFC 7617).
struct ProbeRequest {
    /// What goes on the wire.
    let request: HTTPRequest
    /// Every form the secret takes in the request, longest first, so that an answer echoing any of them is scrubbed.
    let secretForms: [String]

    /// Builds the request, or says why none can be built (without quoting the secret).
    static func make(
        url: URL, credential: CredentialKind, secret: Secret, placement: APIKeyPlacement?
    ) -> Result<ProbeRequest, ProbeProblem> {
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("User-Agent", "tokentop")]
        var target = url
        var forms = [secret.value]
        switch credential {
        case .basic:
            // RFC 7617: user-id ":" password, UTF-8, in base64; a credential without the colon cannot be sent.
            guard let colon = secret.value.firstIndex(of: ":"), colon != secret.value.startIndex else {
                return .failure(
                    ProbeProblem(
                        "the basic credential is not user:password; import it again as \"user:password\""))
            }
            let encoded = Data(secret.value.utf8).base64EncodedString()
            headers.append(("Authorization", "Basic \(encoded)"))
            forms += [encoded, String(secret.value[secret.value.index(after: colon)...])]
        case .apiKey, .botToken:
            switch placement {
            case nil:
                headers.append(("Authorization", "Bearer \(secret.value)"))
            case .some(let placement) where placement.location == .header:
                headers.append((placement.name, secret.value))
            case .some(let placement):
                guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
                    return .failure(ProbeProblem("the probe URL cannot carry a query parameter"))
                }
                let pair = "\(FormEncoding.escape(placement.name))=\(FormEncoding.escape(secret.value))"
                let query = components.percentEncodedQuery.map { $0.isEmpty ? pair : "\($0)&\(pair)" } ?? pair
                components.percentEncodedQuery = query
                guard let withKey = components.url else {
                    return .failure(ProbeProblem("the probe URL cannot carry a query parameter"))
                }
                target = withKey
                forms.append(FormEncoding.escape(secret.value))
            }
        case .oauth2, .appKey:
            return .failure(ProbeProblem("\(credential.withArticle) credential is not probed"))
        }
        let scrubbed = Array(Set(forms.filter { $0.count >= 4 })).sorted { $0.count > $1.count }
        return .success(
            ProbeRequest(request: HTTPRequest(method: "GET", url: target, headers: headers), secretForms: scrubbed))
    }

    /// `text` with every form of the secret replaced by `[redacted]`.
    ///
    /// Besides the exact forms, each form is matched however an echo may have encoded it: any character raw or
    /// percent-encoded in upper or lower hex, a space also as `+` (form encoding, Python's `quote_plus`), a slash
    /// also as `\/` (JSON). Which characters a provider leaves unescaped differs, so each is matched on its own.
    // FIXME: JSON \uXXXX escapes and base64 of an API key or bot token (only basic auth's is known) are not matched.
    func scrub(_ text: String) -> String {
        let exact = secretForms.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
        guard exact.contains("%") || exact.contains("+") || exact.contains("\\") else { return exact }
        return secretForms.reduce(exact) { text, form in
            guard let pattern = try? NSRegularExpression(pattern: Self.encodedPattern(form)) else { return text }
            let range = NSRange(text.startIndex..., in: text)
            return pattern.stringByReplacingMatches(in: text, range: range, withTemplate: "[redacted]")
        }
    }

    /// A regular expression that matches `form` with each character raw or encoded as described at ``scrub(_:)``.
    static func encodedPattern(_ form: String) -> String {
        form.unicodeScalars.map { scalar in
            let raw = String(scalar)
            var choices = [NSRegularExpression.escapedPattern(for: raw)]
            // Each hex digit matches in either case: %2f and %2F are the same byte.
            let percent = raw.utf8.map { byte in
                "%" + String(format: "%02X", byte).map { $0.isLetter ? "[\($0)\($0.lowercased())]" : "\($0)" }
                    .joined()
            }
            choices.append(percent.joined())
            if scalar == " " { choices.append("\\+") }
            if scalar == "/" { choices.append("\\\\/") }
            return "(?:" + choices.joined(separator: "|") + ")"
        }.joined()
    }
}

/// Why a probe could not be sent at all; its message never quotes the secret.
struct ProbeProblem: Error, Equatable {
    let message: String

    init(_ message: String) { self.message = message }
}
