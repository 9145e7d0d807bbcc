/// Why a refresh or revocation failed, as the provider (or the network) said it.
public struct ProviderError: Error, Codable, Sendable, Equatable {
    /// How the refresh actor treats a failure.
    public enum Kind: String, Codable, Sendable {
        /// Network error, timeout, 5xx or 429: retry with backoff.
        case transient
        /// `invalid_grant`: the grant is gone; a human must re-authorize.
        case invalidGrant = "invalid_grant"
        /// `invalid_client` and kin: the integration's configuration is wrong.
        case configuration
        /// The answer could not be understood (empty, not JSON, no `access_token`).
        case malformed
    }

    public var kind: Kind
    /// The provider's `error` member, or a name of ours such as `network_error`.
    public var error: String
    /// The provider's `error_description`, verbatim, or our explanation.
    public var errorDescription: String?
    /// The HTTP status code, when an answer arrived.
    public var status: Int?
    /// The first bytes of an answer that could not be understood, with secrets masked.
    public var bodyPrefix: String?
    /// Seconds the provider asked us to wait (`Retry-After`).
    public var retryAfter: Double?
    /// False for a `network_error` whose request never left: the host did not resolve, the connection was refused
    /// or timed out, or the TLS handshake failed. The provider cannot have acted on it. Nil when it may have been
    /// sent (a timeout or a closed connection after sending), or when an answer arrived; errors stored before
    /// tokentop told the two apart have nil.
    public var requestSent: Bool?
    /// True on a failure whose request never left, when a request earlier in the same run of failures went out and
    /// got no answer: the provider may have rotated the refresh token in that lost answer, and still may have.
    public var earlierAnswerLost: Bool?

    public init(
        kind: Kind, error: String, errorDescription: String? = nil, status: Int? = nil,
        bodyPrefix: String? = nil, retryAfter: Double? = nil, requestSent: Bool? = nil
    ) {
        self.kind = kind
        // A provider's text is kept short: it is stored, logged and drawn, and a page of it helps nobody.
        self.error = Self.bounded(error, Self.errorLimit)
        self.errorDescription = errorDescription.map { Self.bounded($0, Self.descriptionLimit) }
        self.status = status
        self.bodyPrefix = bodyPrefix.map { Self.bounded($0, Self.descriptionLimit) }
        self.retryAfter = retryAfter
        self.requestSent = requestSent
    }

    /// The error code of a request that got no answer, sent or not.
    static let networkErrorCode = "network_error"

    /// Whether this request may have reached the provider and its answer was lost: a `network_error` that is not
    /// known to have stayed unsent. Such an answer may have carried a rotated refresh token.
    var answerMayBeLost: Bool { error == Self.networkErrorCode && requestSent != false }

    /// Whether the provider may have rotated the refresh token in an answer that never arrived, this request's or
    /// that of an earlier request in the same run of failures (see ``earlierAnswerLost``).
    var followsLostAnswer: Bool { answerMayBeLost || earlierAnswerLost == true }

    /// Whether tokentop itself stopped the request before sending it: a configuration problem found here (no key, a
    /// key that cannot sign, a private key where a secret belongs), never a provider's answer, which has a status.
    var foundBeforeSending: Bool { kind == .configuration && status == nil }

    /// The longest `error` kept, in characters.
    static let errorLimit = 200
    /// The longest `errorDescription` and `bodyPrefix` kept, in characters.
    static let descriptionLimit = 1_000
    static let cutMark = "…"

    private static func bounded(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + cutMark
    }

    /// The same error with every occurrence of `secrets` in its text replaced by `[redacted]`.
    public func redacting(_ secrets: [Secret?]) -> ProviderError {
        let values = secrets.compactMap { $0?.value }.filter { $0.count >= 4 }
        guard !values.isEmpty else { return self }
        func scrub(_ text: String?) -> String? {
            text.map { text in
                var scrubbed = values.reduce(text) { $0.replacingOccurrences(of: $1, with: "[redacted]") }
                // A secret the length limit cut in two leaves its start at the end of the text: hide that too.
                guard scrubbed.hasSuffix(Self.cutMark) else { return scrubbed }
                scrubbed.removeLast()
                for value in values {
                    for length in stride(from: min(value.count - 1, scrubbed.count), through: 4, by: -1)
                    where scrubbed.hasSuffix(value.prefix(length)) {
                        scrubbed.removeLast(length)
                        scrubbed += "[redacted]"
                        break
                    }
                }
                return scrubbed + Self.cutMark
            }
        }
        var copy = self
        copy.error = scrub(error) ?? error
        copy.errorDescription = scrub(errorDescription)
        copy.bodyPrefix = scrub(bodyPrefix)
        return copy
    }

    /// What went wrong, for a refresh under integration `integrationID` that needs no re-auth: a configuration
    /// error (`invalid_client` and kin) names the integration and what to check there, since retrying never mends it.
    public func refreshFailureDetail(integrationID: String) -> String {
        guard kind == .configuration else { return summary }
        return "configuration error in integration \(integrationID), check its client id, secret and authentication "
            + "method: \(summary)"
    }

    /// One line for the event pane and the CLI.
    public var summary: String {
        var text = error
        if let status { text += " (HTTP \(status))" }
        if let errorDescription, !errorDescription.isEmpty { text += ": \(errorDescription)" }
        return text
    }
}
