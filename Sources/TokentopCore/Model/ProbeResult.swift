import Foundation

/// The outcome of checking a credential against its integration's probe URL.
public struct ProbeResult: Codable, Sendable, Equatable {
    /// When the probe answered, or gave up.
    public var at: Date
    /// Whether the provider accepted the credential.
    public var ok: Bool
    /// What was seen, for example `HTTP 200` or `HTTP 401: invalid api key`; never a secret.
    public var detail: String

    /// Creates a result.
    public init(at: Date, ok: Bool, detail: String) {
        self.at = at
        self.ok = ok
        self.detail = detail
    }
}

extension Connection {
    /// Whether this is a static credential, in use, whose last probe failed without the provider refusing it (a
    /// refusal makes it needs-reauth): the dashboard's `static ✗` row, `list`'s `static ✗`, and a warning of
    /// `status`.
    public var probeFailed: Bool {
        !credential.expires && revokedAt == nil && reauthReason == nil && probe?.ok == false
    }
}
